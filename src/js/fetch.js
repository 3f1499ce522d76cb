// The common case of `AuthClient.fetch` (src/js/client.rs): Rust has decided that `request` may
// carry the token and has one in hand. The copy with the header goes out from here; only a refusal
// of the token (a 401, or another of `statuses`: the `tokenErrorStatuses` option), a request that
// got no response, or one that cannot carry the header goes back to Rust
// (`after`), which replays it, writes the error, or takes the full path. Running every call
// through a Rust future cost about 100 µs a request (bench/SIZE-ANALYSIS.md, section 5).
// A `fetch` that throws or resolves with something other than a `Response` counts as no
// response, as in Rust (`send_request` in src/browser/client.rs): `client.fetch()` rejects only
// with `network`.
export function sendWithToken(request, token, after, statuses) {
  // One microtask later, so that `fetch` runs with the wasm call and its glue off the stack: in
  // Chromium, `fetch` takes longer the deeper its caller's stack is (it records the stack), and
  // called from here under the wasm frames it took about 60 µs more a request than from a
  // shallow stack: more than everything else on this path (bench/SIZE-ANALYSIS.md, section 7).
  // `request` is the client's own copy, so nothing the caller does meanwhile can change it.
  return Promise.resolve().then(() => {
    let attempt;
    try {
      // A copy: `request` stays unsent, so a refused token can be replayed (a body can be read once).
      attempt = request.clone();
      attempt.headers.set("Authorization", `Bearer ${token}`);
    } catch {
      return after(request, token, undefined);
    }
    let sent;
    try {
      // A replaced `fetch` may throw instead of rejecting: either way there is no response.
      sent = fetch(attempt);
    } catch {
      return after(request, token, null);
    }
    // Anything but a `Response` (a mock's plain value) is no response either, as in Rust.
    return Promise.resolve(sent).then(
      (response) =>
        response instanceof Response
          ? statuses.includes(response.status)
            ? after(request, token, response)
            : response
          : after(request, token, null),
      () => after(request, token, null),
    );
  });
}
