//! Target `tab_message`: tab-channel messages, that is stored values another tab posts on the
//! `BroadcastChannel` (or that a `storage` event carries), fed to the machine as
//! [`Event::StorageChanged`](tokenkeeper::Event::StorageChanged).
//!
//! It runs the harness of [`machine`](super::machine) in [`Mode::TabMessages`]: shared storage
//! is forced by most configs, and most steps are another tab writing (sessions of this login or
//! others, sessions with one field replaced by anything, retry hints of any shape and range,
//! garbage, removals) or a message being delivered, late, twice or out of order, with just
//! enough calls, replies, locks and ticks to act on what the messages say. The invariants are
//! the machine target's.

use super::machine::{check_with, Mode, Mutant};

/// Checks one fuzz input.
pub fn check(data: &[u8]) {
    check_with(data, Mode::TabMessages, Mutant::None);
}
