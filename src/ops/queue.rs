//! A bounded queue between threads: `try_push` never waits, `pop` waits.
//!
//! ```text
//! producers ──try_push──► [ at most N items ] ──pop──► one consumer thread
//!               └ full: the item comes back to the caller
//! ```
//!
//! What the log thread and the refusal thread read from. `std::sync::mpsc`
//! does the same with more machinery than two uses need, and every byte of
//! the binary counts on a small board.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A queue of at most `capacity` items.
pub(crate) struct Bounded<T> {
    items: Mutex<VecDeque<T>>,
    ready: Condvar,
    capacity: usize,
}

impl<T> Bounded<T> {
    /// An empty queue that holds at most `capacity` items.
    pub(crate) fn new(capacity: usize) -> Bounded<T> {
        Bounded { items: Mutex::new(VecDeque::new()), ready: Condvar::new(), capacity }
    }

    /// No code panics while holding the lock, so a poisoned lock still
    /// holds a consistent queue.
    fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `item` without waiting.
    ///
    /// # Errors
    ///
    /// The item itself, when the queue is full.
    pub(crate) fn try_push(&self, item: T) -> Result<(), T> {
        let mut items = self.lock();
        if items.len() >= self.capacity {
            return Err(item);
        }
        items.push_back(item);
        drop(items);
        self.ready.notify_one();
        Ok(())
    }

    /// Takes the oldest item, waiting for one.
    pub(crate) fn pop(&self) -> T {
        let mut items = self.lock();
        loop {
            if let Some(item) = items.pop_front() {
                return item;
            }
            items = self.ready.wait(items).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queues_hand_the_item_back_and_pop_keeps_order() {
        let queue = Bounded::new(2);
        assert_eq!(queue.try_push(1), Ok(()));
        assert_eq!(queue.try_push(2), Ok(()));
        assert_eq!(queue.try_push(3), Err(3));
        assert_eq!(queue.pop(), 1);
        assert_eq!(queue.try_push(4), Ok(()));
        assert_eq!((queue.pop(), queue.pop()), (2, 4));
    }
}
