//! Frames to one worker, in order: written straight from the sender's thread while the pipe
//! takes them (no thread hand-off on the fast path), queued for a flusher thread once it is
//! full. The pipe is non-blocking, so no server thread ever waits on a worker that stopped
//! reading.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The writing end of a worker's input.
pub(crate) trait Pipe: Write + AsFd + Send {}

impl<T: Write + AsFd + Send> Pipe for T {}

struct State {
    /// `None` while the flusher holds it, and once closed.
    pipe: Option<Box<dyn Pipe>>,
    queue: VecDeque<Vec<u8>>,
    flushing: bool,
    closed: bool,
}

pub(crate) struct Outgoing {
    state: Mutex<State>,
    wake: Condvar,
}

/// Writes what the pipe takes now; the number of bytes written.
fn write_now(pipe: &mut dyn Pipe, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match pipe.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

impl Outgoing {
    /// Takes over `pipe` (made non-blocking) and starts its flusher thread.
    pub(crate) fn start(pipe: Box<dyn Pipe>, name: String) -> io::Result<Arc<Self>> {
        rustix::io::ioctl_fionbio(pipe.as_fd(), true)?;
        let outgoing = Arc::new(Self {
            state: Mutex::new(State {
                pipe: Some(pipe),
                queue: VecDeque::new(),
                flushing: false,
                closed: false,
            }),
            wake: Condvar::new(),
        });
        let flusher = outgoing.clone();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || flusher.flush_loop())?;
        Ok(outgoing)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `frame`; `false` once the pipe is closed or broken.
    pub(crate) fn send(&self, frame: Vec<u8>) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        if state.flushing || !state.queue.is_empty() {
            state.queue.push_back(frame);
            self.wake.notify_one();
            return true;
        }
        let Some(pipe) = state.pipe.as_mut() else {
            return false;
        };
        match write_now(pipe.as_mut(), &frame) {
            Ok(n) if n == frame.len() => true,
            Ok(n) => {
                state.queue.push_back(frame[n..].to_vec());
                self.wake.notify_one();
                true
            }
            Err(_) => {
                state.closed = true;
                state.pipe = None;
                false
            }
        }
    }

    /// Closes the pipe (the worker reads to its end and exits); what is queued is dropped.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.pipe = None;
        state.queue.clear();
        self.wake.notify_one();
    }

    fn flush_loop(&self) {
        let mut state = self.lock();
        loop {
            while state.queue.is_empty() && !state.closed {
                state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            if state.closed {
                return;
            }
            let Some(mut pipe) = state.pipe.take() else {
                return;
            };
            state.flushing = true;
            while let Some(chunk) = state.queue.pop_front() {
                drop(state);
                let mut done = 0;
                let broken = loop {
                    match write_now(pipe.as_mut(), &chunk[done..]) {
                        Ok(n) => done += n,
                        Err(_) => break true,
                    }
                    if done == chunk.len() {
                        break false;
                    }
                    // The worker is not reading: wait a moment, unless it is being closed.
                    std::thread::sleep(Duration::from_millis(1));
                    if self.lock().closed {
                        break true;
                    }
                };
                state = self.lock();
                if broken || state.closed {
                    state.closed = true;
                    state.queue.clear();
                    state.flushing = false;
                    return;
                }
            }
            state.flushing = false;
            state.pipe = Some(pipe);
        }
    }
}
