//! Who is online, away, and looking at which conversation. Ephemeral: kept
//! in memory, never logged.

use std::collections::HashMap;
use std::sync::Mutex;

use confab_domain::{AccountId, AgentId, ConversationId};
use serde::{Deserialize, Serialize};

/// An agent's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Online,
    Away,
    Offline,
}

#[derive(Debug, Clone, Copy)]
struct AgentPresence {
    connections: usize,
    status: Status,
    viewing: Option<ConversationId>,
}

/// One agent's presence, as sent to sockets.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceView {
    pub agent_id: AgentId,
    pub status: Status,
    pub viewing: Option<ConversationId>,
}

/// Presence of every connected agent, per account.
#[derive(Default)]
pub struct Presence {
    agents: Mutex<HashMap<(AccountId, AgentId), AgentPresence>>,
}

impl Presence {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(AccountId, AgentId), AgentPresence>) -> T) -> T {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut agents)
    }

    /// A socket opened; true when the agent just came online.
    pub fn connect(&self, account: AccountId, agent: AgentId) -> bool {
        self.with(|agents| {
            let entry = agents.entry((account, agent)).or_insert(AgentPresence {
                connections: 0,
                status: Status::Online,
                viewing: None,
            });
            entry.connections += 1;
            entry.connections == 1
        })
    }

    /// A socket closed; true when the agent's last socket closed.
    pub fn disconnect(&self, account: AccountId, agent: AgentId) -> bool {
        self.with(|agents| match agents.get_mut(&(account, agent)) {
            Some(entry) if entry.connections > 1 => {
                entry.connections -= 1;
                false
            }
            Some(_) => {
                agents.remove(&(account, agent));
                true
            }
            None => false,
        })
    }

    /// Sets online/away; returns the new view when it changed.
    pub fn set_status(
        &self,
        account: AccountId,
        agent: AgentId,
        status: Status,
    ) -> Option<PresenceView> {
        self.with(|agents| {
            let entry = agents.get_mut(&(account, agent))?;
            (entry.status != status).then(|| {
                entry.status = status;
                PresenceView {
                    agent_id: agent,
                    status,
                    viewing: entry.viewing,
                }
            })
        })
    }

    /// Sets the conversation the agent looks at; returns the new view when it changed.
    pub fn set_viewing(
        &self,
        account: AccountId,
        agent: AgentId,
        viewing: Option<ConversationId>,
    ) -> Option<PresenceView> {
        self.with(|agents| {
            let entry = agents.get_mut(&(account, agent))?;
            (entry.viewing != viewing).then(|| {
                entry.viewing = viewing;
                PresenceView {
                    agent_id: agent,
                    status: entry.status,
                    viewing,
                }
            })
        })
    }

    /// The agent's current view (offline when not connected).
    pub fn view(&self, account: AccountId, agent: AgentId) -> PresenceView {
        self.with(|agents| match agents.get(&(account, agent)) {
            Some(p) => PresenceView {
                agent_id: agent,
                status: p.status,
                viewing: p.viewing,
            },
            None => PresenceView {
                agent_id: agent,
                status: Status::Offline,
                viewing: None,
            },
        })
    }

    /// Everyone connected in the account.
    pub fn snapshot(&self, account: AccountId) -> Vec<PresenceView> {
        self.with(|agents| {
            let mut views: Vec<_> = agents
                .iter()
                .filter(|((a, _), _)| *a == account)
                .map(|((_, agent), p)| PresenceView {
                    agent_id: *agent,
                    status: p.status,
                    viewing: p.viewing,
                })
                .collect();
            views.sort_by_key(|v| v.agent_id);
            views
        })
    }

    /// Whether any agent of the account is online (team availability for contacts).
    pub fn team_online(&self, account: AccountId) -> bool {
        self.with(|agents| {
            agents
                .iter()
                .any(|((a, _), p)| *a == account && p.status == Status::Online)
        })
    }
}
