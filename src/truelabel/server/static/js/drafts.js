// Unsent answers kept in this browser (localStorage), so a reload or a lost connection does
// not lose work. A browser may be shared, and overlap must stay blind, so a draft belongs to
// one user: it is keyed by the user, the project and the item (as the server's own drafts
// are), it records its owner and is only ever restored to that owner, logging out removes
// every draft, and logging in removes everyone else's.

const PREFIX = "tl-draft:"; // every draft key, of this version and of older ones
const VERSION = "v2";       // v1 keys ("tl-draft:<project>:<item>") had no owner

/** The signed-in user's id, from the page shell (<meta name="tl-user">), or null. */
export function currentUserId() {
  const meta = document.querySelector('meta[name="tl-user"]');
  const id = meta ? meta.getAttribute("content") : "";
  return id ? id : null;
}

function keys() {
  const out = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key && key.startsWith(PREFIX)) out.push(key);
    }
  } catch { /* storage blocked: nothing is kept */ }
  return out;
}

function remove(key) {
  try { localStorage.removeItem(key); } catch { /* blocked */ }
}

function ownerOf(key) {
  try {
    const rec = JSON.parse(localStorage.getItem(key) || "null");
    return rec && typeof rec === "object" && rec.owner != null ? String(rec.owner) : null;
  } catch { return null; }
}

/** Forget every draft in this browser (log out). */
export function clearAllDrafts() {
  keys().forEach(remove);
}

/** Forget every draft not made by user ``userId`` (log in), old unowned ones included. */
export function keepOnlyDraftsOf(userId) {
  const me = userId == null ? null : String(userId);
  for (const key of keys()) if (me === null || ownerOf(key) !== me) remove(key);
}

/**
 * The drafts of user ``userId`` in ``project``: read(itemId), write(itemId, record),
 * clear(itemId). Without a user every call does nothing (read gives null).
 */
export function draftStore(userId, project) {
  const owner = userId == null ? null : String(userId);
  const key = (itemId) => `${PREFIX}${VERSION}:${encodeURIComponent(owner)}:${encodeURIComponent(project)}:${itemId}`;
  return {
    read(itemId) {
      if (owner === null) return null;
      let rec = null;
      try { rec = JSON.parse(localStorage.getItem(key(itemId)) || "null"); } catch { rec = null; }
      if (!rec || typeof rec !== "object") return null;
      // Never hand one user's answers to another, whatever wrote this entry.
      if (String(rec.owner) !== owner || rec.project !== project || String(rec.item) !== String(itemId)) {
        remove(key(itemId));
        return null;
      }
      return rec;
    },
    write(itemId, record) {
      if (owner === null) return;
      const rec = { ...record, owner, project, item: itemId };
      try { localStorage.setItem(key(itemId), JSON.stringify(rec)); } catch { /* full or blocked */ }
    },
    clear(itemId) {
      if (owner !== null) remove(key(itemId));
    },
  };
}
