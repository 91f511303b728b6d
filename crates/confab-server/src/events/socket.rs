//! One WebSocket session: replay from the log, then live frames in order,
//! gap-filled from the log; heartbeats; slow consumers cut with a close
//! code that tells them to resume.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use confab_domain::event::Event;
use confab_domain::{AccountId, AgentId, ContactId, InboxId};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::frames::{self, Frame};
use crate::state::AppState;

/// Close code: you fell behind; reconnect with `since` = the last seq you got.
pub const CLOSE_RESUME: u16 = 4000;
/// Close code: no sign of life within the heartbeat timeout.
pub const CLOSE_TIMEOUT: u16 = 4001;
/// Longest a write may block before the peer is treated as a slow consumer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames written per flush at most (batched socket writes).
const BATCH: usize = 64;

/// Who is on the other end.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    Agent {
        account: AccountId,
        agent: AgentId,
    },
    Contact {
        account: AccountId,
        inbox: InboxId,
        contact: ContactId,
    },
}

impl Viewer {
    pub fn account(&self) -> AccountId {
        match *self {
            Viewer::Agent { account, .. } | Viewer::Contact { account, .. } => account,
        }
    }

    /// The text this viewer receives of a frame, if any.
    fn text_of(&self, frame: &Frame) -> Option<Utf8Bytes> {
        let text = match *self {
            Viewer::Agent { agent, .. } => {
                if frame.skip_agent == Some(agent.0) {
                    return None;
                }
                frame.agent_text.as_ref()?
            }
            Viewer::Contact { contact, .. } => {
                if frame.contact_id.is_some_and(|id| id != contact) {
                    return None;
                }
                frame.contact_text.as_ref()?
            }
        };
        Some(text.clone())
    }

    /// The text this viewer receives of a logged event (replay and gap fill).
    fn render(&self, event: &Event) -> Option<Utf8Bytes> {
        match *self {
            Viewer::Agent { .. } => Some(frames::agent_text(event).into()),
            Viewer::Contact { contact, .. } => frames::contact_view(event)
                .filter(|(id, _)| *id == contact)
                .map(|(_, text)| text.into()),
        }
    }
}

/// Handles what the client sends (typing, viewing, presence).
pub trait ClientMessages: Send {
    fn handle(&mut self, text: &str) -> impl std::future::Future<Output = ()> + Send;
}

struct Session<S> {
    sink: S,
    viewer: Viewer,
    state: AppState,
    /// The last sequence number this socket has passed (sent or filtered).
    last: i64,
    pending: usize,
}

enum Flow {
    Continue,
    Stop,
}

impl<S> Session<S>
where
    S: futures::Sink<Message, Error = axum::Error> + Unpin + Send,
{
    async fn queue(&mut self, text: Utf8Bytes) -> Result<(), axum::Error> {
        self.pending += 1;
        self.sink.feed(Message::Text(text)).await
    }

    async fn flush(&mut self) -> Result<(), ()> {
        if self.pending == 0 {
            return Ok(());
        }
        self.pending = 0;
        match tokio::time::timeout(WRITE_TIMEOUT, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    /// Sends every logged event after `self.last` up to `until` (inclusive), from the log.
    async fn catch_up(&mut self, until: Option<i64>) -> Result<(), ()> {
        loop {
            let want = match until {
                Some(until) if until <= self.last => return Ok(()),
                Some(until) => (until - self.last).min(500) as u32,
                None => 500,
            };
            let events = self
                .state
                .store
                .events_since(self.viewer.account(), self.last, want)
                .await
                .map_err(|_| ())?;
            for event in &events {
                self.last = event.seq;
                if let Some(text) = self.viewer.render(event) {
                    self.queue(text).await.map_err(|_| ())?;
                }
            }
            self.flush().await?;
            if (events.len() as u32) < want {
                return Ok(());
            }
        }
    }

    async fn deliver(&mut self, frame: &Frame) -> Result<(), ()> {
        if let Some(seq) = frame.seq {
            if seq <= self.last {
                return Ok(());
            }
            if seq > self.last + 1 {
                // Another writer's events reached the log first: read them from there.
                self.catch_up(Some(seq - 1)).await?;
            }
            self.last = seq;
        }
        if let Some(text) = self.viewer.text_of(frame) {
            self.queue(text).await.map_err(|_| ())?;
            if self.pending >= BATCH {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn close(&mut self, code: u16, reason: String) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
}

/// Runs a stream until either side stops. `since` is the last seq the client has.
///
/// What the client sends is read by a task of its own, so delivering a
/// frame never touches the read side (a poll of the read half costs a
/// buffer setup even when nothing has arrived).
pub async fn run<C: ClientMessages + 'static>(
    socket: WebSocket,
    state: AppState,
    viewer: Viewer,
    since: i64,
    client: C,
    greeting: Vec<Utf8Bytes>,
) {
    let mut receiver = state.hub.subscribe(viewer.account()).await;
    let (sink, incoming) = socket.split();
    let mut session = Session {
        sink,
        viewer,
        state,
        last: since,
        pending: 0,
    };
    if session.catch_up(None).await.is_err() {
        return;
    }
    for text in greeting {
        if session.queue(text).await.is_err() {
            return;
        }
    }
    if session.flush().await.is_err() {
        return;
    }
    let (ping_every, dead_after) = (
        session.state.config.ping_every,
        session.state.config.dead_after,
    );
    let mut heartbeat = tokio::time::interval(ping_every);
    heartbeat.tick().await;
    let mut listener = Listener::start(incoming, client);
    loop {
        let flow = tokio::select! {
            biased;
            frame = receiver.recv() => match frame {
                Ok(frame) => {
                    let mut result = session.deliver(&frame).await;
                    // Drain what is already queued, then write it in one flush.
                    while result.is_ok() {
                        match receiver.try_recv() {
                            Ok(more) => result = session.deliver(&more).await,
                            Err(TryRecvError::Lagged(_)) => { result = Err(()); break; }
                            Err(_) => break,
                        }
                    }
                    match result.and(session.flush().await) {
                        Ok(()) => Flow::Continue,
                        Err(()) => {
                            let reason = format!("too slow: reconnect with since={}", session.last);
                            session.close(CLOSE_RESUME, reason).await;
                            Flow::Stop
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let reason = format!("too slow: reconnect with since={}", session.last);
                    session.close(CLOSE_RESUME, reason).await;
                    Flow::Stop
                }
                Err(RecvError::Closed) => Flow::Stop,
            },
            _ = &mut listener.gone => Flow::Stop,
            _ = heartbeat.tick() => {
                if listener.silent_for() > dead_after {
                    session.close(CLOSE_TIMEOUT, "no heartbeat".into()).await;
                    Flow::Stop
                } else if tokio::time::timeout(WRITE_TIMEOUT, session.sink.send(Message::Ping(Default::default()))).await.map_or(true, |r| r.is_err()) {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
        };
        if let Flow::Stop = flow {
            break;
        }
    }
    listener.task.abort();
}

/// The task reading what the client sends: hands text to the client
/// handler, notes when the peer was last heard, and says when it is gone.
struct Listener {
    task: tokio::task::JoinHandle<()>,
    gone: tokio::sync::oneshot::Receiver<()>,
    started: Instant,
    /// Milliseconds after `started` when the peer was last heard.
    heard_at: Arc<AtomicU64>,
}

impl Listener {
    fn start<R, C>(mut incoming: R, mut client: C) -> Listener
    where
        R: futures::Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
        C: ClientMessages + 'static,
    {
        let started = Instant::now();
        let heard_at = Arc::new(AtomicU64::new(0));
        let (said_gone, gone) = tokio::sync::oneshot::channel();
        let heard = heard_at.clone();
        let task = tokio::spawn(async move {
            let hear = || heard.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            loop {
                match incoming.next().await {
                    Some(Ok(Message::Text(text))) => {
                        hear();
                        client.handle(text.as_str()).await;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => hear(),
                }
            }
            let _ = said_gone.send(());
        });
        Listener {
            task,
            gone,
            started,
            heard_at,
        }
    }

    /// How long since the peer was last heard.
    fn silent_for(&self) -> Duration {
        self.started
            .elapsed()
            .saturating_sub(Duration::from_millis(self.heard_at.load(Ordering::Relaxed)))
    }
}
