use super::*;
use std::time::Duration;

fn frame_text(next: Next) -> String {
    match next {
        Next::Frame(_, frame) => String::from_utf8_lossy(&frame).into_owned(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn events_are_encoded_once_with_run_seq_ids() {
    let hub = Arc::new(Hub::new(4, 100));
    let publisher = hub.publisher();
    let first = publisher.publish(None, "a\nb").expect("published");
    let second = publisher.publish(Some("reading"), "21.5").expect("published");
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(EventId::parse(&second.to_string()), Some(second));
    let now = Instant::now();
    assert_eq!(frame_text(hub.next(1, now)), format!("id: {first}\ndata: a\ndata: b\n\n"));
    assert_eq!(frame_text(hub.next(2, now)), format!("id: {second}\nevent: reading\ndata: 21.5\n\n"));
    assert_eq!(hub.next(3, now), Next::TimedOut);
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
fn history_is_bounded_and_the_lagging_fall_behind() {
    let hub = Arc::new(Hub::new(3, 100));
    let publisher = hub.publisher();
    let ids: Vec<_> = (0..5).map(|n| publisher.publish(None, &n.to_string()).expect("published")).collect();
    let now = Instant::now();
    assert_eq!(hub.next(2, now), Next::FellBehind);
    assert!(frame_text(hub.next(3, now)).ends_with("data: 2\n\n"));

    let resume = |id: Option<String>| hub.resume(id.as_deref());
    assert_eq!(resume(None), Resume { cursor: 6, missed: false });
    assert_eq!(resume(Some(ids[3].to_string())), Resume { cursor: 5, missed: false });
    assert_eq!(resume(Some(ids[4].to_string())), Resume { cursor: 6, missed: false });
    assert_eq!(resume(Some(ids[1].to_string())), Resume { cursor: 3, missed: false });
    assert_eq!(resume(Some(ids[0].to_string())), Resume { cursor: 3, missed: true });
    let earlier_run = EventId { run: ids[0].run - 1, seq: 4 };
    assert_eq!(resume(Some(earlier_run.to_string())), Resume { cursor: 3, missed: true });
    let never_given = EventId { run: ids[0].run, seq: 99 };
    assert_eq!(resume(Some(never_given.to_string())), Resume { cursor: 3, missed: true });
    assert_eq!(resume(Some("7".to_owned())), Resume { cursor: 3, missed: true });
}

#[test]
fn a_waiting_stream_wakes_on_publish() {
    let hub = Arc::new(Hub::new(8, 100));
    let publisher = hub.publisher();
    let waiter = {
        let hub = Arc::clone(&hub);
        std::thread::spawn(move || hub.next(1, Instant::now() + Duration::from_secs(10)))
    };
    std::thread::sleep(Duration::from_millis(20));
    publisher.publish(None, "wake").expect("published");
    assert!(frame_text(waiter.join().expect("waiter")).ends_with("data: wake\n\n"));
}

#[test]
fn id_parsing() {
    assert_eq!(EventId::parse("12-3"), Some(EventId { run: 12, seq: 3 }));
    for bad in ["", "12", "-3", "12-", "a-3", "12-3-4", "12- 3", "+1-2"] {
        assert_eq!(EventId::parse(bad), None, "{bad}");
    }
}
