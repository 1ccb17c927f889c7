// The pages' own script: HTMX settings, the type-dependent trigger fields, the Monaco editor
// (SDK completions from /assets/sdk.d.ts, Ctrl/Cmd+S saves, save errors as markers), and live
// execution lines over server-sent events.
(function () {
  'use strict';

  if (window.htmx) {
    // Swap refusals and error fragments too (a 422 carries the form's errors).
    htmx.config.responseHandling = [
      { code: '204', swap: false },
      { code: '[23]..', swap: true },
      { code: '422', swap: true },
      { code: '[45]..', swap: true, error: true },
      { code: '...', swap: false }
    ];
  }

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute('content') : '';
  }

  // The theme chosen in the switcher, else the system's.
  function dark() {
    var chosen = document.documentElement.dataset.theme;
    if (chosen) return chosen === 'dark';
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  }

  // Only the chosen type's trigger fields are shown.
  function followType(root) {
    var form = (root || document).querySelector('#script-form');
    if (!form) return;
    var select = form.querySelector('[name="Type"]');
    if (!select) return;
    select.addEventListener('change', function () { form.dataset.type = select.value; });
  }

  // "line 3" / "line 3, column 7" / "3:7" in a message: where the marker goes.
  function position(text) {
    var match = /line (\d+)(?:[,:]? ?(?:column |col )?(\d+))?/i.exec(text) || /(\d+):(\d+)/.exec(text);
    if (!match) return null;
    return { line: parseInt(match[1], 10), column: match[2] ? parseInt(match[2], 10) : 1 };
  }

  function startEditors() {
    var hosts = document.querySelectorAll('.code-editor[data-source]');
    if (!hosts.length && !document.querySelector('.code-editor.diff')) return;
    // Absolute: Monaco's workers resolve their scripts against it.
    var base = new URL(meta('monaco-base'), window.location.origin).href;
    var loader = document.createElement('script');
    loader.src = base + '/loader.js';
    loader.onload = function () {
      window.require.config({ paths: { vs: base } });
      window.require(['vs/editor/editor.main'], function () {
        var monaco = window.monaco;
        var defaults = monaco.languages.typescript.javascriptDefaults;
        defaults.setCompilerOptions({
          target: monaco.languages.typescript.ScriptTarget.ESNext,
          module: monaco.languages.typescript.ModuleKind.ESNext,
          allowNonTsExtensions: true,
          allowJs: true,
          // As sdk.d.ts asks: the language's own library, not the DOM's.
          lib: ['es2022']
        });
        fetch('/assets/sdk.d.ts').then(function (r) { return r.text(); }).then(function (types) {
          defaults.addExtraLib(types, 'ts:iota-scripts/sdk.d.ts');
        });
        hosts.forEach(function (host) { mount(monaco, host); });
        document.querySelectorAll('.code-editor.diff').forEach(function (host) { mountDiff(monaco, host); });
      });
    };
    document.head.appendChild(loader);
  }

  function mount(monaco, host) {
    var data = document.getElementById(host.dataset.source);
    var readOnly = host.classList.contains('readonly');
    var editor = monaco.editor.create(host, {
      value: data ? JSON.parse(data.textContent) : '',
      language: 'javascript',
      theme: dark() ? 'vs-dark' : 'vs',
      readOnly: readOnly,
      automaticLayout: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      fontSize: 14
    });
    host.classList.add('ready');
    if (window.matchMedia) {
      window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', function () {
        monaco.editor.setTheme(dark() ? 'vs-dark' : 'vs');
      });
    }
    if (readOnly) {
      // `#line-7` (from an execution's error): that line, selected and in view.
      var target = /^#line-(\d+)$/.exec(window.location.hash);
      if (target) {
        var line = parseInt(target[1], 10);
        editor.revealLineInCenter(line);
        editor.setSelection(new monaco.Selection(line, 1, line, editor.getModel().getLineMaxColumn(line)));
        host.scrollIntoView();
      }
      return;
    }
    window.iotaEditor = editor;
    var form = host.closest('form');
    var textarea = form.querySelector('textarea[name="Source"]');
    textarea.hidden = true;
    editor.onDidChangeModelContent(function () { textarea.value = editor.getValue(); });
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, function () { form.requestSubmit(); });
    // A refused save: the source's error as a marker at its line and column.
    document.body.addEventListener('htmx:afterSettle', function () {
      var slot = document.getElementById('error-Source');
      var text = slot ? slot.textContent.trim() : '';
      var markers = [];
      if (text) {
        // The server's line and column when it sent them; else read from the message.
        var at = slot.dataset.line
          ? { line: parseInt(slot.dataset.line, 10), column: parseInt(slot.dataset.column || '1', 10) }
          : position(text) || { line: 1, column: 1 };
        markers.push({
          severity: monaco.MarkerSeverity.Error, message: text,
          startLineNumber: at.line, startColumn: at.column,
          endLineNumber: at.line, endColumn: at.column + 1
        });
      }
      monaco.editor.setModelMarkers(editor.getModel(), 'save', markers);
    });
  }

  // Two versions side by side, read-only.
  function mountDiff(monaco, host) {
    var text = function (id) {
      var data = document.getElementById(id);
      return data ? JSON.parse(data.textContent) : '';
    };
    // Shown before it is created, so that it measures a real size.
    host.classList.add('ready');
    var diff = monaco.editor.createDiffEditor(host, {
      theme: dark() ? 'vs-dark' : 'vs',
      readOnly: true,
      automaticLayout: true,
      minimap: { enabled: false }
    });
    diff.setModel({
      original: monaco.editor.createModel(text(host.dataset.original), 'javascript'),
      modified: monaco.editor.createModel(text(host.dataset.modified), 'javascript')
    });
    window.iotaDiff = diff;
  }

  // Ctrl/Cmd+S anywhere in the form saves it.
  document.addEventListener('keydown', function (event) {
    if (!event.defaultPrevented && (event.ctrlKey || event.metaKey) && event.key === 's') {
      var form = document.querySelector('#script-form');
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
    }
  });

  // An execution that runs: its lines as they are logged, then the page again at its end.
  function followExecution() {
    var list = document.querySelector('#live[data-stream]');
    if (!list || !window.EventSource) return;
    var source = new EventSource(list.dataset.stream);
    source.addEventListener('log', function (event) {
      var line = JSON.parse(event.data);
      var item = document.createElement('li');
      item.className = 'log log-' + (line.level || 'info');
      var level = document.createElement('span');
      level.className = 'level';
      level.textContent = line.level || '';
      var message = document.createElement('span');
      message.className = 'message';
      message.textContent = ' ' + (line.message || '');
      item.appendChild(level);
      item.appendChild(message);
      list.appendChild(item);
    });
    source.addEventListener('end', function () {
      source.close();
      window.location.reload();
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    followType(document);
    startEditors();
    followExecution();
  });
})();
