//! Who follows what: the inboxes of the streams, by the topics they
//! follow, and the choice of which ones a published event wakes.
//!
//! ```text
//! /events?topic=room/a          ─► by_topic["room/a"]          one hash lookup per topic of an event
//! /events, or a `*` selector    ─► everything                  every event
//! ?topic=https://ex.com/{id}    ─► matching (its selectors)    matched per event, at publish time
//! ```
//!
//! A private event goes only to inboxes whose stream's token may read one
//! of its topics (Mercure rule 21). That is decided here, by the publisher,
//! under the hub's lock: a stream that may not read it never wakes. For a
//! stream that follows the event's one topic by name, the answer was
//! computed once, when it subscribed.

use std::collections::HashMap;
use std::sync::Arc;

use super::Mailbox;
use crate::auth::Reader;
use crate::proto::selector::Selector;
use crate::proto::topic::Topics;

/// What a stream follows.
pub(crate) enum Interest {
    /// `/events`: named topics, or every topic.
    Topics(Topics),
    /// Mercure's `topic` selectors: `*`, topics, URI templates.
    Selectors(Vec<Selector>),
}

impl Interest {
    /// Whether an event on `topics` (any of them) goes to this stream.
    pub(crate) fn includes(&self, topics: &[Arc<str>]) -> bool {
        match self {
            Interest::Topics(Topics::All) => true,
            Interest::Topics(Topics::Some(names)) => {
                topics.iter().any(|topic| names.iter().any(|name| name.as_str() == &**topic))
            }
            Interest::Selectors(selectors) => {
                topics.iter().any(|topic| selectors.iter().any(|selector| selector.matches(topic)))
            }
        }
    }
}

/// One stream's inbox, where the hub keeps it.
struct Follower {
    mailbox: Arc<Mailbox>,
    reader: Arc<Reader>,
    /// Whether the token may read the private events of the topic this
    /// entry is filed under (decided once; only for `by_topic` entries).
    reads_private_here: bool,
}

impl Follower {
    /// Whether this stream gets an event on `topics` that is `private`.
    fn may_read(&self, topics: &[Arc<str>], private: bool, filed_under_the_only_topic: bool) -> bool {
        if !private {
            return true;
        }
        if filed_under_the_only_topic {
            return self.reads_private_here;
        }
        topics.iter().any(|topic| self.reader.reads_private(topic))
    }
}

/// Every stream's inbox, filed by what it follows.
#[derive(Default)]
pub(crate) struct Followers {
    by_topic: HashMap<Arc<str>, HashMap<u64, Follower>>,
    everything: HashMap<u64, Follower>,
    matching: HashMap<u64, (Follower, Vec<Selector>)>,
}

impl Followers {
    /// Files stream `id`'s inbox under what `interest` names.
    pub(crate) fn add(&mut self, id: u64, interest: &Interest, mailbox: &Arc<Mailbox>, reader: &Arc<Reader>) {
        let follower = |reads_private_here| Follower {
            mailbox: Arc::clone(mailbox),
            reader: Arc::clone(reader),
            reads_private_here,
        };
        match interest {
            Interest::Topics(Topics::All) => {
                self.everything.insert(id, follower(false));
            }
            Interest::Topics(Topics::Some(names)) => {
                for name in names {
                    let topic: Arc<str> = Arc::from(name.as_str());
                    let here = reader.reads_private(&topic);
                    self.by_topic.entry(topic).or_default().insert(id, follower(here));
                }
            }
            Interest::Selectors(selectors)
                if selectors.iter().any(|selector| matches!(selector, Selector::Any)) =>
            {
                self.everything.insert(id, follower(false));
            }
            Interest::Selectors(selectors) => {
                let mut patterns = Vec::new();
                for selector in selectors {
                    match selector {
                        Selector::Exact(topic) => {
                            let topic: Arc<str> = Arc::from(topic.as_str());
                            let here = reader.reads_private(&topic);
                            self.by_topic.entry(topic).or_default().insert(id, follower(here));
                        }
                        pattern => patterns.push(pattern.clone()),
                    }
                }
                if !patterns.is_empty() {
                    self.matching.insert(id, (follower(false), patterns));
                }
            }
        }
    }

    /// Takes stream `id`'s inbox out of every place `add` filed it.
    pub(crate) fn remove(&mut self, id: u64, interest: &Interest) {
        self.everything.remove(&id);
        self.matching.remove(&id);
        let named: Vec<&str> = match interest {
            Interest::Topics(Topics::Some(names)) => names.iter().map(|name| name.as_str()).collect(),
            Interest::Selectors(selectors) => selectors
                .iter()
                .filter_map(|selector| match selector {
                    Selector::Exact(topic) => Some(topic.as_str()),
                    _ => None,
                })
                .collect(),
            Interest::Topics(Topics::All) => Vec::new(),
        };
        for topic in named {
            if let Some(inboxes) = self.by_topic.get_mut(topic) {
                inboxes.remove(&id);
                // A topic nobody follows costs nothing.
                if inboxes.is_empty() {
                    self.by_topic.remove(topic);
                }
            }
        }
    }

    /// Calls `push` once for each inbox an event on `topics` goes to:
    /// followers of any of its topics, of every topic, and of a matching
    /// selector; a private one only where the token may read it.
    pub(crate) fn for_each_target(
        &self,
        topics: &[Arc<str>],
        private: bool,
        mut push: impl FnMut(&Arc<Mailbox>),
    ) {
        // A stream filed under two of the event's topics, or under a topic
        // and a pattern, is told once.
        let may_repeat = topics.len() > 1 || !self.matching.is_empty();
        let mut told: Vec<u64> = Vec::new();
        let only_topic = topics.len() == 1;
        let mut tell = |id: u64, follower: &Follower, filed_under_the_only_topic: bool| {
            if !follower.may_read(topics, private, filed_under_the_only_topic) {
                return;
            }
            if may_repeat {
                if told.contains(&id) {
                    return;
                }
                told.push(id);
            }
            push(&follower.mailbox);
        };
        for topic in topics {
            for (&id, follower) in self.by_topic.get(topic).into_iter().flatten() {
                tell(id, follower, only_topic);
            }
        }
        for (&id, follower) in &self.everything {
            tell(id, follower, false);
        }
        for (&id, (follower, patterns)) in &self.matching {
            let matched = topics.iter().any(|topic| patterns.iter().any(|pattern| pattern.matches(topic)));
            if matched {
                tell(id, follower, false);
            }
        }
    }

    /// Every inbox, each once.
    pub(crate) fn all_mailboxes(&self) -> Vec<Arc<Mailbox>> {
        let mut seen: HashMap<*const Mailbox, Arc<Mailbox>> = HashMap::new();
        let filed = self.by_topic.values().flat_map(HashMap::values);
        let filed =
            filed.chain(self.everything.values()).chain(self.matching.values().map(|(follower, _)| follower));
        for follower in filed {
            seen.entry(Arc::as_ptr(&follower.mailbox)).or_insert_with(|| Arc::clone(&follower.mailbox));
        }
        seen.into_values().collect()
    }

    /// Topics that at least one stream follows by name.
    pub(crate) fn topics_followed(&self) -> usize {
        self.by_topic.len()
    }
}
