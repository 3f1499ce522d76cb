//! Storage and the other tabs: reading storage at start-up, what this machine writes (marked with
//! its API), what another tab's write means ([`Event::StorageChanged`](super::Event::StorageChanged): a refresh, a new login, a
//! sign-out, news of a failure, or nothing new), and the failed refreshes shared between tabs so
//! they back off together (see "Many tabs" in the module docs).

use crate::logic::error::{fill, AuthError};
use crate::logic::time::Timestamp;

use super::calls::{emit, release};
use super::persisted::{SharedRetry, Unusable};
use super::refresh::Settle;
use super::{AuthEvent, Effect, Session, SessionMachine};

impl SessionMachine {
    /// Tells the machine the origin of the page it runs in (`location.origin`), before
    /// [`Event::Start`](super::Event::Start). The API mark of stored sessions is then written as an absolute URL, and
    /// a mark written as a same-origin path (by a client given a relative `baseUrl`, or by one
    /// that did not know the origin) is read as this origin plus that path: the same API,
    /// configured once as `"/api"` and once as `"https://app.example/api"`, shares its session.
    pub fn set_page_origin(&mut self, origin: &str) {
        self.page_origin = Some(origin.trim_end_matches('/').to_owned());
    }

    /// `url` as an absolute URL: a same-origin path gets the page's origin, when known.
    fn on_page(&self, url: &str) -> String {
        match &self.page_origin {
            Some(origin) if url.starts_with('/') && !url.starts_with("//") => {
                crate::logic::error::concat(&[origin.as_str(), url])
            }
            _ => url.to_owned(),
        }
    }

    pub(super) fn on_start(
        &mut self,
        stored: Result<Option<String>, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.storage_trusted = true;
        match stored {
            Ok(None) => {}
            Ok(Some(text)) => match self.read_stored(&text) {
                Ok(session) => {
                    self.session = Some(session);
                    // A page opened while the server fails joins the other tabs' backoff.
                    self.merge_failures(&text, now);
                }
                Err(Unusable::Garbage(error)) => {
                    // Garbage is removed so it cannot fail every start.
                    self.remember(error);
                    out.push(Effect::Clear);
                }
                // Another API's session stays where it is: it is that client's, not garbage.
                Err(Unusable::Foreign(error)) => self.remember(error),
            },
            Err(error) => self.remember(error),
        }
    }

    pub(super) fn on_storage_changed(
        &mut self,
        stored: Option<String>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(text) = stored else {
            if self.session.is_some() {
                self.signed_out_elsewhere(now, out);
            }
            return;
        };
        let stored = match self.read_stored(&text) {
            Ok(stored) => stored,
            Err(Unusable::Garbage(error) | Unusable::Foreign(error)) => {
                // Another tab wrote something we cannot read, or must not use; keep what we
                // have.
                self.remember(error);
                return;
            }
        };
        let (same, replaced) = match &self.session {
            Some(current) if current.access_token == stored.access_token => (true, false),
            Some(current) => {
                let older = match (stored.stated_expires_at(), current.stated_expires_at()) {
                    (Some(theirs), Some(ours)) => theirs < ours,
                    _ => false,
                };
                (false, older && stored.lineage == current.lineage)
            }
            None => (false, false),
        };
        if same {
            // The same session (or this change seen twice): at most news of a failure. A
            // refresh in flight learns of it under the lock instead.
            if self.refresh.is_none() {
                self.absorb_failures(&text, now, out);
            }
            return;
        }
        if replaced || self.is_late_message(&stored) {
            // A late message about a token this tab has already replaced, or about a session
            // from before the one this tab has ended.
            return;
        }
        if self.session.is_none() {
            // Storage holds the session the message carries: an expiry of ours in this same
            // step must not clear it. (`remove`, not `retain`: the wasm module has its code for
            // effects already.)
            while let Some(index) = out
                .iter()
                .position(|effect| matches!(effect, Effect::Clear))
            {
                out.remove(index);
            }
        }
        self.adopt(stored.clone(), out);
        if self.refresh.is_some() && stored.is_expired(now, self.config.leeway()) {
            // Another tab's session arrived already expired (a message delivered late, a tab
            // waking from sleep): the callers waiting on this tab's refresh want a token that
            // works, so the refresh starts again from that session.
            self.absorb_failures(&text, now, out);
            return self.refresh_adopted(&stored, now, out);
        }
        self.abandon_refresh(Settle::With(&stored), now, out);
        self.absorb_failures(&text, now, out);
    }

    /// Restarts the refresh in flight from `adopted`, an expired session another tab stored, for
    /// the same callers; when it cannot be refreshed now, they are settled as after a failure.
    fn refresh_adopted(&mut self, adopted: &Session, now: Timestamp, out: &mut Vec<Effect>) {
        if !self.can_refresh(adopted, now) {
            return self.abandon_refresh(Settle::With(adopted), now, out);
        }
        if let Some(error) = self.blocker(now) {
            return self.abandon_refresh(Settle::Failed(&error, Some(adopted)), now, out);
        }
        let Some(in_flight) = self.refresh.take() else {
            return;
        };
        if let Some(lock) = in_flight.held_lock() {
            release(out, lock);
        }
        // `adopted` is the current session now: the refresh starts from its token.
        self.begin_refresh(in_flight.waiters, out);
    }

    /// Whether `stored`, arriving while this tab is signed out, was received no later than the
    /// session this tab last ended: a message delivered late (a duplicate through the other
    /// channel, a tab waking from sleep), since a session stored after that end was received
    /// after it. Adopting it would sign this tab in with a session storage no longer holds.
    ///
    /// Receipt times are the device's clock, shared by the tabs; a clock set back between two
    /// logins could make a new login look late here, which costs this tab that sign-in until
    /// the next change (a reload adopts it).
    fn is_late_message(&self, stored: &Session) -> bool {
        self.session.is_none()
            && self
                .ended_received_at
                .is_some_and(|ended| stored.received_at <= ended)
    }

    /// Takes over a session another tab stored.
    pub(super) fn adopt(&mut self, stored: Session, out: &mut Vec<Effect>) {
        let event = match &self.session {
            Some(current) if current.lineage == stored.lineage => AuthEvent::TokenRefreshed,
            _ => AuthEvent::SignedIn,
        };
        self.backoff.reset();
        emit(out, event, Some(&stored));
        self.session = Some(stored);
    }

    /// A storage write failed: storage may lag behind this tab from now on, so what it holds
    /// under the lock no longer overrides this tab's state (see [`Self::on_lock`]).
    pub(super) fn on_storage_failed(&mut self, error: AuthError) {
        self.storage_trusted = false;
        self.remember(error);
    }

    /// Another tab removed the session.
    // Inlined at its two callers in `step`: measured smaller gzipped than one copy (-37 B).
    #[inline(always)]
    pub(super) fn signed_out_elsewhere(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = self.end_session() else {
            return;
        };
        // The other tab ended it at expiry: say so here too, so all tabs raise the same event.
        let expired =
            session.is_expired(now, self.config.leeway()) && !self.can_refresh(&session, now);
        self.backoff.reset();
        self.abandon_refresh(Settle::SignedOut, now, out);
        let event = if expired {
            AuthEvent::SessionExpired
        } else {
            AuthEvent::SignedOut
        };
        emit(out, event, None);
    }

    /// What this machine writes to storage for `session`: the value marked with our API (see
    /// [`Self::read_stored`]).
    pub(super) fn persist(&self, session: &Session, retry: Option<&SharedRetry>) -> Effect {
        let api = self.on_page(&self.config.endpoints().login);
        Effect::Persist {
            value: session.to_storage_with(Some(&api), retry),
        }
    }

    /// A stored value as a session of ours. A value marked with another API is refused: two
    /// clients of different APIs given the same `storageKey` would otherwise adopt each other's
    /// sessions and send those tokens, the refresh token included, to their own servers.
    pub(super) fn read_stored(&self, text: &str) -> Result<Session, Unusable> {
        let (session, api) = Session::from_storage_with_api(text).map_err(Unusable::Garbage)?;
        match api {
            Some(api) if self.on_page(&api) != self.on_page(&self.config.endpoints().login) => {
                Err(Unusable::Foreign(AuthError::storage(fill(
                    "storageKey holds the session of another API ({}); give each AuthClient \
                     its own storageKey",
                    &[&api],
                ))))
            }
            _ => Ok(session),
        }
    }

    /// With shared storage, stores the session together with its failed refreshes, so the other
    /// tabs back off with this one instead of retrying on their own.
    pub(super) fn share_failures(&self, out: &mut Vec<Effect>) {
        if !self.config.storage().is_shared() {
            return;
        }
        let (Some(session), Some(error)) = (&self.session, &self.last_error) else {
            return;
        };
        let Some(retry) = self.backoff.to_shared(error) else {
            return;
        };
        out.push(self.persist(session, Some(&retry)));
    }

    /// Counts the failed refreshes another tab stored with the current session as this tab's
    /// own: the window, the backoff step, `Retry-After`. Returns whether any was news.
    fn merge_failures(&mut self, text: &str, now: Timestamp) -> bool {
        let Some(shared) = SharedRetry::from_storage(text) else {
            return false;
        };
        if !self.backoff.merge(&shared, now) {
            return false;
        }
        self.remember(shared.error());
        true
    }

    /// [`Self::merge_failures`], raising `REFRESH_FAILED` here too when there was news.
    pub(super) fn absorb_failures(
        &mut self,
        text: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> bool {
        let news = self.merge_failures(text, now);
        if news {
            emit(out, AuthEvent::RefreshFailed, self.session.as_ref());
        }
        news
    }
}
