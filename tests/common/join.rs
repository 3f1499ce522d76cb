//! Running two futures at once in a wasm-bindgen-test (included with `#[path]`).

/// Runs two futures concurrently on the page's event loop and waits for both.
pub async fn join<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: std::future::Future + 'static,
    B: std::future::Future + 'static,
{
    let (send_a, done_a) = futures_channel::oneshot::channel();
    let (send_b, done_b) = futures_channel::oneshot::channel();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = send_a.send(a.await);
    });
    wasm_bindgen_futures::spawn_local(async move {
        let _ = send_b.send(b.await);
    });
    (done_a.await.expect("a ran"), done_b.await.expect("b ran"))
}
