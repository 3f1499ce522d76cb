// The common case of `AuthClient.fetch` (src/js/client.rs): Rust has decided that `request` may
// carry the token and has one in hand. The copy with the header goes out from here; only a 401,
// a request that got no response, or one that cannot carry the header goes back to Rust
// (`after`), which replays it, writes the error, or takes the full path. Running every call
// through a Rust future cost about 100 µs a request (bench/SIZE-ANALYSIS.md, section 5).
export function sendWithToken(request, token, after) {
  let attempt;
  try {
    // A copy: `request` stays unsent, so a 401 can be replayed (a body can be read once).
    attempt = request.clone();
    attempt.headers.set("Authorization", `Bearer ${token}`);
  } catch {
    return after(request, token, undefined);
  }
  return fetch(attempt).then(
    (response) => (response.status === 401 ? after(request, token, response) : response),
    () => after(request, token, null),
  );
}
