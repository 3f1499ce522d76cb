//! Start-up and shutdown: what `main` does, kept here so it reads as one story.

use std::{io::Write, net::SocketAddr, time::Duration};

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::{app::app, clock::Clock, config::Args, db::Db, state::AppState};

/// How often expired sessions and old login failures are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How long in-flight requests get after SIGINT/SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Opens the database, binds, prints `listening on http://ADDR` (the only line on stdout),
/// serves until SIGINT or SIGTERM, then drains for at most [`SHUTDOWN_GRACE`].
pub async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = args.into_config()?;
    for (flag, dir) in [
        ("--static-dir", &config.static_dir),
        ("--pkg-dir", &config.pkg_dir),
    ] {
        if !dir.is_dir() {
            tracing::warn!(
                "{flag} {} is not a directory: its files will be 404",
                dir.display()
            );
        }
    }
    let db = Db::open(&args.db_location())?;
    let state = AppState::new(config, db, args.secret.as_deref(), Clock::System)?;
    if let Err(e) = state.prune().await {
        tracing::warn!("initial prune failed: {e:?}");
    }

    let listener = TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    // Without TCP_NODELAY, the last small segment of a reply can wait for the client's delayed
    // ACK: measured here as 40 ms stalls on about half of the cold loads of the 27 KB JS glue.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!("could not set TCP_NODELAY: {error}");
        }
    });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    tracing::info!(
        profile = state.config.profile.as_str(),
        test_mode = state.config.test_mode,
        "serving"
    );

    let pruner = tokio::spawn(prune_periodically(state.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let drained = async move {
        let mut rx = stop_rx;
        // Resolves only once the signal has arrived; then gives connections the grace period.
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result?,
        () = drained => tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; exiting"),
    }
    pruner.abort();
    tracing::info!("stopped");
    Ok(())
}

async fn prune_periodically(state: AppState) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match state.prune().await {
            Ok(p) if p.sessions + p.refresh_tokens > 0 => {
                tracing::debug!(
                    sessions = p.sessions,
                    refresh_tokens = p.refresh_tokens,
                    "pruned"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("prune failed: {e:?}"),
        }
    }
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
