use super::*;
use crate::auth::Reader;
use crate::proto::sse::FieldError;
use crate::proto::topic::Topics;
use std::io;
use std::time::{Duration, Instant};

fn topic(name: &str) -> TopicName {
    TopicName::new(name).expect("valid topic")
}

fn only(names: &[&str]) -> Topics {
    Topics::Some(names.iter().map(|name| topic(name)).collect())
}

fn texts(frames: &[Queued]) -> Vec<String> {
    frames.iter().map(|(_, frame)| String::from_utf8_lossy(frame).into_owned()).collect()
}

/// Whatever the inbox holds now, without waiting.
fn queued(mailbox: &Mailbox) -> Vec<String> {
    let mut out = VecDeque::new();
    match mailbox.take(&mut out, Instant::now()) {
        Delivery::Frames { .. } => texts(&Vec::from(out)),
        Delivery::TimedOut => Vec::new(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn events_are_encoded_once_with_run_seq_ids() {
    let hub = Arc::new(Hub::new(4, 100));
    let (all, _) = hub.subscribe(Interest::Topics(Topics::All), None, Reader::default());
    let publisher = hub.publisher();
    let first = publisher.publish(None, "a\nb").expect("published");
    let second = publisher.publish(Some("reading"), "21.5").expect("published");
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(EventId::parse(&second.to_string()), Some(second));
    assert_eq!(
        queued(&all.mailbox),
        [
            format!("id: {first}\ndata: a\ndata: b\n\n"),
            format!("id: {second}\nevent: reading\ndata: 21.5\n\n")
        ]
    );
}

#[test]
fn refused_events_take_no_id() {
    let hub = Arc::new(Hub::new(4, 3));
    let publisher = hub.publisher();
    assert_eq!(publisher.publish(Some("a\nb"), "x"), Err(PublishError::BadEventName(FieldError::LineBreak)));
    assert_eq!(publisher.publish(None, "four"), Err(PublishError::TooLarge { bytes: 4, limit: 3 }));
    assert_eq!(publisher.publish(None, "ok").map(|id| id.seq), Ok(1));
}

#[test]
fn a_publish_reaches_only_the_inboxes_of_its_topic_and_of_every_topic() {
    let hub = Arc::new(Hub::new(8, 100));
    let (on_a, _) = hub.subscribe(Interest::Topics(only(&["a"])), None, Reader::default());
    let (on_b, _) = hub.subscribe(Interest::Topics(only(&["b"])), None, Reader::default());
    let (on_both, _) = hub.subscribe(Interest::Topics(only(&["a", "b"])), None, Reader::default());
    let (on_all, _) = hub.subscribe(Interest::Topics(Topics::All), None, Reader::default());
    let to_a = hub.publisher().on_topic("a").expect("topic");
    to_a.publish(None, "for a").expect("published");
    assert_eq!(queued(&on_a.mailbox).len(), 1);
    assert!(queued(&on_b.mailbox).is_empty());
    assert_eq!(queued(&on_both.mailbox).len(), 1, "once, though it follows two topics");
    assert_eq!(queued(&on_all.mailbox).len(), 1);
    assert_eq!(hub.fan_out_counts(), (2, 3));
    // Gone subscribers leave no topic behind.
    drop((on_a, on_b, on_both, on_all));
    assert_eq!(hub.fan_out_counts().0, 0);
}

#[test]
fn replay_is_the_retained_events_of_the_topics_after_the_id() {
    let hub = Arc::new(Hub::new(3, 100));
    let publisher = hub.publisher();
    let to_b = publisher.on_topic("b").expect("topic");
    let ids = [
        publisher.publish(None, "0").expect("published"),
        to_b.publish(None, "1").expect("published"),
        publisher.publish(None, "2").expect("published"),
        to_b.publish(None, "3").expect("published"),
        publisher.publish(None, "4").expect("published"),
    ];
    // History holds 2, 3, 4.
    let replay = |topics: Topics, id: Option<String>| {
        let (_, replay) = hub.subscribe(Interest::Topics(topics), id.as_deref(), Reader::default());
        let data: Vec<String> = texts(&replay.frames)
            .iter()
            .map(|frame| frame.rsplit("data: ").next().unwrap_or("").trim().to_owned())
            .collect();
        (data, replay.missed)
    };
    let default = || only(&["default"]);
    assert_eq!(replay(Topics::All, None), (vec![], false));
    assert_eq!(replay(Topics::All, Some(ids[2].to_string())), (vec!["3".to_owned(), "4".to_owned()], false));
    assert_eq!(replay(only(&["b"]), Some(ids[1].to_string())), (vec!["3".to_owned()], false));
    assert_eq!(replay(default(), Some(ids[1].to_string())), (vec!["2".to_owned(), "4".to_owned()], false));
    // Older than the history: what is left, and missed.
    assert_eq!(replay(default(), Some(ids[0].to_string())), (vec!["2".to_owned(), "4".to_owned()], true));
    let earlier_run = EventId { run: ids[0].run - 1, seq: 4 };
    assert_eq!(replay(only(&["b"]), Some(earlier_run.to_string())), (vec!["3".to_owned()], true));
    let never_given = EventId { run: ids[0].run, seq: 99 };
    assert!(replay(Topics::All, Some(never_given.to_string())).1);
    assert!(replay(Topics::All, Some("7".to_owned())).1);
}

#[test]
fn a_waiting_stream_wakes_on_a_publish_for_it_and_a_slow_one_falls_behind() {
    let hub = Arc::new(Hub::new(2, 100));
    let (subscription, _) = hub.subscribe(Interest::Topics(only(&["a"])), None, Reader::default());
    let mailbox = Arc::clone(&subscription.mailbox);
    let waiter = std::thread::spawn(move || {
        let mut out = VecDeque::new();
        let delivery = mailbox.take(&mut out, Instant::now() + Duration::from_secs(10));
        (delivery, texts(&Vec::from(out)))
    });
    std::thread::sleep(Duration::from_millis(20));
    hub.publisher().on_topic("a").expect("topic").publish(None, "wake").expect("published");
    let (delivery, frames) = waiter.join().expect("waiter");
    assert_eq!(delivery, Delivery::Frames { woken: true, front_written: 0 });
    assert!(frames[0].ends_with("data: wake\n\n"));

    let to_a = hub.publisher().on_topic("a").expect("topic");
    for n in 0..3 {
        to_a.publish(None, &n.to_string()).expect("published");
    }
    let mut out = VecDeque::new();
    assert_eq!(subscription.mailbox.take(&mut out, Instant::now()), Delivery::FellBehind);
}

#[test]
fn id_parsing() {
    assert_eq!(EventId::parse("12-3"), Some(EventId { run: 12, seq: 3 }));
    for bad in ["", "12", "-3", "12-", "a-3", "12-3-4", "12- 3", "+1-2"] {
        assert_eq!(EventId::parse(bad), None, "{bad}");
    }
}

/// A shared stream that hands out ids and remembers nothing.
struct NoUpstream;

impl Upstream for NoUpstream {
    fn publish(&self, _: &NewEvent<'_>) -> Result<EventId, PublishError> {
        Err(PublishError::Unavailable(io::ErrorKind::NotConnected))
    }

    fn replay(&self, _: EventId, _: EventId, _: usize) -> io::Result<(Vec<Entry>, bool)> {
        Ok((Vec::new(), false))
    }

    fn never_given(&self, id: EventId) -> bool {
        id.run > 1_000
    }

    fn health(&self) -> UpstreamHealth {
        UpstreamHealth { up: false, reconnects: 0, entries_skipped: 0 }
    }
}

#[test]
fn a_client_ahead_of_this_servers_reader_gets_nothing_twice() {
    let hub = Arc::new(Hub::with_upstream(8, 100, Arc::new(NoUpstream)));
    let entry = |seq: u64| Entry::plain(EventId { run: 1, seq }, "default", None, format!("e{seq}"), false);
    hub.deliver(entry(1));
    // The client saw 1-3 on another server; this one has read up to 1-1.
    let (subscription, replay) = hub.subscribe(Interest::Topics(Topics::All), Some("1-3"), Reader::default());
    assert!(replay.frames.is_empty() && !replay.missed);
    for seq in 2..=4 {
        hub.deliver(entry(seq));
    }
    // A redelivery after a reconnect is skipped too.
    hub.deliver(entry(4));
    let frames = queued(&subscription.mailbox);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert!(frames[0].ends_with("data: e4\n\n"), "{frames:?}");
    // Publishing with the stream away is refused, not dropped.
    let refused = hub.publisher().publish(None, "x");
    assert_eq!(refused, Err(PublishError::Unavailable(io::ErrorKind::NotConnected)));
}

#[test]
fn a_gap_in_the_shared_stream_tells_every_stream_missed_once_unless_its_client_had_it_all() {
    let hub = Arc::new(Hub::with_upstream(8, 100, Arc::new(NoUpstream)));
    let entry = |seq: u64| Entry::plain(EventId { run: 1, seq }, "room/a", None, format!("e{seq}"), false);
    hub.deliver(entry(1));
    let room = Topics::Some(vec![topic("room/a"), topic("room/b")]);
    let (in_two_topics, _) = hub.subscribe(Interest::Topics(room), None, Reader::default());
    let (everything, _) = hub.subscribe(Interest::Topics(Topics::All), None, Reader::default());
    // This client saw up to 1-9 on another server.
    let (ahead, _) = hub.subscribe(Interest::Topics(Topics::All), Some("1-9"), Reader::default());
    hub.entries_gone(EventId { run: 1, seq: 1 }, Some(EventId { run: 1, seq: 5 }));
    hub.deliver(entry(5));
    let told = "event: missed\ndata: 1-1\n\n";
    assert_eq!(queued(&in_two_topics.mailbox), [told, "id: 1-5\ndata: e5\n\n"]);
    assert_eq!(queued(&everything.mailbox), [told, "id: 1-5\ndata: e5\n\n"]);
    assert!(queued(&ahead.mailbox).is_empty());
    // Memory no longer answers for ids before the gap.
    let (_, replay) = hub.subscribe(Interest::Topics(Topics::All), Some("1-1"), Reader::default());
    assert!(replay.frames.is_empty());
}
