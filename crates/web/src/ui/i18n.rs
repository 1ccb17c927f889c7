//! The language of a page: English, Russian or Uzbek, from the `lang` cookie the switcher
//! sets, else the browser's `Accept-Language`; every string comes from `locales/app.yml`.

use actix_web::HttpRequest;
use actix_web::http::header;

/// The cookie the language switcher sets.
pub use services::sessions::LANG_COOKIE;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Ru,
    Uz,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::Uz];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Uz => "uz",
        }
    }

    /// The language's own name, as the switcher shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ru => "Русский",
            Lang::Uz => "Oʻzbekcha",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|lang| lang.code() == primary)
    }

    /// The string `key` in this language.
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// The language of a request: the switcher's cookie, else the first language of
    /// `Accept-Language` (by weight) that the product speaks, else English.
    pub fn of(request: &HttpRequest) -> Lang {
        if let Some(lang) = request
            .cookie(LANG_COOKIE)
            .and_then(|cookie| Lang::parse(cookie.value()))
        {
            return lang;
        }
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .and_then(from_accept_language)
            .unwrap_or_default()
    }
}

/// The best language of an `Accept-Language` header that the product speaks.
fn from_accept_language(header: &str) -> Option<Lang> {
    let mut choices: Vec<(Lang, f32)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let lang = Lang::parse(pieces.next()?)?;
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                .unwrap_or(1.0);
            Some((lang, weight))
        })
        .collect();
    choices.sort_by(|a, b| b.1.total_cmp(&a.1));
    choices.first().map(|(lang, _)| *lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_known_language() {
        let cases = [
            ("ru-RU,ru;q=0.9,en;q=0.8", Some(Lang::Ru)),
            ("de-DE, uz;q=0.5, en;q=0.4", Some(Lang::Uz)),
            ("en;q=0.1, ru;q=0.7", Some(Lang::Ru)),
            ("de, fr", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(from_accept_language(header), expected, "{header}");
        }
    }

    /// Every key of `locales/app.yml` with the languages it has.
    fn catalogue() -> Vec<(String, Vec<(String, String)>)> {
        let text = include_str!("../../locales/app.yml");
        let mut keys: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.starts_with("_version") || line.trim().is_empty() {
                continue;
            }
            if let Some(key) = line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
                keys.push((key.to_owned(), Vec::new()));
            } else if let (Some((code, value)), Some(last)) =
                (line.trim().split_once(": "), keys.last_mut())
            {
                last.1
                    .push((code.to_owned(), value.trim_matches('"').to_owned()));
            }
        }
        keys
    }

    /// The text of every source file of the pages.
    fn sources() -> String {
        fn walk(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).expect("read src").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push_str(&std::fs::read_to_string(&path).expect("read file"));
                }
            }
        }
        let mut out = String::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut out,
        );
        out
    }

    /// Keys built at run time from a value (`script.type.{type}`): used when their family is.
    const FAMILIES: [&str; 7] = [
        "bulk.done.",
        "dead_letters.status.",
        "execution.trigger_kind.",
        "script.type.",
        "script.status.",
        "script.endpoint_auth.",
        "execution.status.",
    ];

    #[test]
    fn every_key_is_translated_into_every_language() {
        let keys = catalogue();
        assert!(keys.len() > 50, "the catalogue did not parse");
        for (key, languages) in &keys {
            for lang in Lang::ALL {
                let text = languages.iter().find(|(code, _)| code == lang.code());
                assert!(
                    text.is_some_and(|(_, text)| !text.is_empty()),
                    "{key} has no {} text",
                    lang.code()
                );
                assert_ne!(
                    lang.t(key),
                    key.as_str(),
                    "{key} does not resolve in {}",
                    lang.code()
                );
            }
            assert_eq!(
                languages.len(),
                Lang::ALL.len(),
                "{key} has other languages"
            );
        }
    }

    #[test]
    fn every_key_is_used_and_every_used_key_exists() {
        let sources = sources();
        let keys = catalogue();
        for (key, _) in &keys {
            let literal = sources.contains(&format!("\"{key}\""));
            let family = FAMILIES.iter().any(|family| {
                key.starts_with(family)
                    && sources.contains(&format!("\"{}", family.trim_end_matches('.')))
            });
            assert!(literal || family, "{key} is not used by any page");
        }
        let known: std::collections::BTreeSet<&str> =
            keys.iter().map(|(k, _)| k.as_str()).collect();
        for used in sources.split(".t(\"").skip(1) {
            let key = used.split('"').next().unwrap_or_default();
            assert!(
                known.contains(key),
                "{key} is used but not in locales/app.yml"
            );
        }
    }
}
