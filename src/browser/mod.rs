//! Browser adapters: the thin shell that executes what the core (`logic/`) decides, with fetch,
//! Web Storage, Web Locks, `BroadcastChannel`, timers and page events. No decisions live here.

pub mod client;
pub mod http;
pub mod lock;
pub mod page;
pub mod storage;
pub mod tabs;
