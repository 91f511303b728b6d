//! Who is online, away, and looking at which conversation. Ephemeral: kept
//! in memory, never logged.
//!
//! In a cluster each instance knows its own sockets' agents and, from what
//! the others publish (their whole table, on every change and every few
//! seconds), theirs: a snapshot covers agents connected to any instance. An
//! instance not heard from for [`REMOTE_TTL`] is presumed gone with its
//! agents.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

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

/// How long another instance's table counts without news from it.
pub const REMOTE_TTL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy)]
struct AgentPresence {
    connections: usize,
    status: Status,
    viewing: Option<ConversationId>,
}

/// One agent's presence, as sent to sockets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PresenceView {
    pub agent_id: AgentId,
    pub status: Status,
    pub viewing: Option<ConversationId>,
}

/// One row of an instance's table, as published to the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedPresence {
    pub account_id: AccountId,
    #[serde(flatten)]
    pub view: PresenceView,
}

/// What another instance last published.
struct RemoteTable {
    heard: Instant,
    agents: Vec<PublishedPresence>,
}

/// Presence of every connected agent, per account.
#[derive(Default)]
pub struct Presence {
    agents: Mutex<HashMap<(AccountId, AgentId), AgentPresence>>,
    /// Other instances' tables, by instance id.
    remote: Mutex<HashMap<u64, RemoteTable>>,
    /// Poked on every local change (the cluster publisher waits on it).
    pub changed: Notify,
}

impl Presence {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(AccountId, AgentId), AgentPresence>) -> T) -> T {
        let result = {
            let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut agents)
        };
        self.changed.notify_one();
        result
    }

    /// This instance's table, to publish to the others.
    pub fn local_table(&self) -> Vec<PublishedPresence> {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .iter()
            .map(|((account, agent), p)| PublishedPresence {
                account_id: *account,
                view: PresenceView {
                    agent_id: *agent,
                    status: p.status,
                    viewing: p.viewing,
                },
            })
            .collect()
    }

    /// Takes another instance's whole table.
    pub fn set_remote(&self, instance: u64, agents: Vec<PublishedPresence>) {
        let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        remote.retain(|_, table| table.heard.elapsed() < REMOTE_TTL);
        remote.insert(
            instance,
            RemoteTable {
                heard: Instant::now(),
                agents,
            },
        );
    }

    /// The account's agents on other instances that are still heard from.
    fn remote_views(&self, account: AccountId) -> Vec<PresenceView> {
        let remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        remote
            .values()
            .filter(|table| table.heard.elapsed() < REMOTE_TTL)
            .flat_map(|table| table.agents.iter())
            .filter(|row| row.account_id == account)
            .map(|row| row.view.clone())
            .collect()
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
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        match agents.get(&(account, agent)) {
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
        }
    }

    /// Everyone connected in the account, on this instance and the others
    /// (an agent connected to several shows once: the most present status).
    pub fn snapshot(&self, account: AccountId) -> Vec<PresenceView> {
        let mut views: Vec<PresenceView> = {
            let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
            agents
                .iter()
                .filter(|((a, _), _)| *a == account)
                .map(|((_, agent), p)| PresenceView {
                    agent_id: *agent,
                    status: p.status,
                    viewing: p.viewing,
                })
                .collect()
        };
        for view in self.remote_views(account) {
            match views.iter_mut().find(|v| v.agent_id == view.agent_id) {
                Some(known) => {
                    if rank(view.status) > rank(known.status) {
                        known.status = view.status;
                    }
                    known.viewing = known.viewing.or(view.viewing);
                }
                None => views.push(view),
            }
        }
        views.sort_by_key(|v| v.agent_id);
        views
    }

    /// Whether any agent of the account is online, on any instance (team
    /// availability for contacts).
    pub fn team_online(&self, account: AccountId) -> bool {
        self.snapshot(account)
            .iter()
            .any(|view| view.status == Status::Online)
    }
}

/// Orders statuses by presence: online above away above offline.
fn rank(status: Status) -> u8 {
    match status {
        Status::Online => 2,
        Status::Away => 1,
        Status::Offline => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(account: i64, agent: i64, status: Status) -> PublishedPresence {
        PublishedPresence {
            account_id: AccountId(account),
            view: PresenceView {
                agent_id: AgentId(agent),
                status,
                viewing: None,
            },
        }
    }

    #[test]
    fn snapshots_merge_other_instances_and_keep_accounts_apart() {
        let presence = Presence::default();
        presence.connect(AccountId(1), AgentId(10));
        presence.set_status(AccountId(1), AgentId(10), Status::Away);
        assert!(!presence.team_online(AccountId(1)));
        presence.set_remote(
            7,
            vec![
                row(1, 10, Status::Online),
                row(1, 11, Status::Away),
                row(2, 20, Status::Online),
            ],
        );
        let views = presence.snapshot(AccountId(1));
        let ids: Vec<_> = views.iter().map(|v| (v.agent_id.0, v.status)).collect();
        assert_eq!(ids, vec![(10, Status::Online), (11, Status::Away)]);
        assert!(presence.team_online(AccountId(1)));
        assert!(presence.team_online(AccountId(2)));
        // A newer table replaces the old one whole.
        presence.set_remote(7, vec![]);
        assert!(!presence.team_online(AccountId(2)));
        assert_eq!(presence.snapshot(AccountId(1)).len(), 1);
    }

    #[test]
    fn the_published_row_is_flat_json() {
        let json = serde_json::to_value(row(1, 2, Status::Online)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"account_id": 1, "agent_id": 2, "status": "online", "viewing": null})
        );
        let back: PublishedPresence = serde_json::from_value(json).unwrap();
        assert_eq!(back.view.agent_id, AgentId(2));
    }
}
