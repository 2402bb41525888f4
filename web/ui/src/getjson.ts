/** Fetches JSON from an island endpoint with the session's cookie; throws
 * with the server's detail, or, on a 401, with a word that the session has
 * expired. */
export async function getJSON<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { credentials: "same-origin", signal, headers: { Accept: "application/json" } });
  if (!res.ok) {
    let detail = res.statusText;
    try { detail = (await res.json()).detail || detail; } catch { /* not JSON */ }
    throw new Error(res.status === 401 ? "Your session has expired. Reload the page to sign in again." : detail);
  }
  return res.json() as Promise<T>;
}
