// Behaviour shared by every page. Everything works without it; it adds
// confirmations, the mobile menu, password toggles and JSON validation.

function onReady(fn: () => void): void {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

onReady(() => {
  // Mobile navigation.
  const toggle = document.querySelector<HTMLButtonElement>(".navtoggle");
  const nav = document.getElementById("sidenav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }

  // Ask before destructive submissions.
  document.addEventListener("submit", (ev) => {
    const form = ev.target as HTMLFormElement;
    const msg = form.dataset.confirm;
    if (msg && !window.confirm(msg)) ev.preventDefault();
  }, true);

  // Show or hide a password.
  document.querySelectorAll<HTMLButtonElement>("[data-toggle-password]").forEach((btn) => {
    btn.addEventListener("click", () => {
      const input = document.getElementById(btn.dataset.togglePassword!) as HTMLInputElement | null;
      if (!input) return;
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      btn.textContent = show ? "Hide" : "Show";
      btn.setAttribute("aria-label", show ? "Hide password" : "Show password");
    });
  });

  // Copy a secret shown once.
  document.querySelectorAll<HTMLButtonElement>("[data-copy]").forEach((btn) => {
    btn.addEventListener("click", async () => {
      const el = document.getElementById(btn.dataset.copy!);
      if (!el) return;
      try {
        await navigator.clipboard.writeText(el.textContent || "");
        btn.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(el);
        const sel = window.getSelection();
        sel?.removeAllRanges();
        sel?.addRange(range);
      }
    });
  });

  // Submit a filter form when one of its selects changes.
  document.querySelectorAll<HTMLSelectElement>("select[data-autosubmit]").forEach((sel) => {
    sel.addEventListener("change", () => sel.form?.requestSubmit());
  });

  // Validate JSON text areas as the user types; block submission while invalid.
  document.querySelectorAll<HTMLTextAreaElement>("textarea[data-json]").forEach((ta) => {
    const out = document.getElementById(ta.id + "-error");
    const check = (): boolean => {
      let msg = "";
      const text = ta.value.trim();
      if (text !== "") {
        try {
          const v = JSON.parse(text);
          if (ta.dataset.json === "object" && (v === null || typeof v !== "object" || Array.isArray(v))) {
            msg = "The parameters must be a JSON object, like {\"key\": \"value\"}.";
          }
        } catch (e) {
          msg = "Not valid JSON: " + (e as Error).message;
        }
      }
      ta.classList.toggle("invalid", msg !== "");
      ta.setAttribute("aria-invalid", String(msg !== ""));
      if (out) out.textContent = msg;
      return msg === "";
    };
    ta.addEventListener("input", check);
    ta.form?.addEventListener("submit", (ev) => {
      if (!check()) {
        ev.preventDefault();
        ta.focus();
      }
    });
    const fmt = document.querySelector<HTMLButtonElement>(`[data-format-json="${ta.id}"]`);
    fmt?.addEventListener("click", () => {
      if (check() && ta.value.trim() !== "") ta.value = JSON.stringify(JSON.parse(ta.value), null, 2);
    });
  });

  // Add a row from a <template> to a list, e.g. another measure of a new sensor type.
  document.querySelectorAll<HTMLButtonElement>("[data-add-row]").forEach((btn) => {
    btn.addEventListener("click", () => {
      const tpl = document.getElementById(btn.dataset.addRow!) as HTMLTemplateElement | null;
      const target = document.getElementById(btn.dataset.target!);
      if (!tpl || !target) return;
      const n = target.children.length;
      const frag = tpl.content.cloneNode(true) as DocumentFragment;
      frag.querySelectorAll<HTMLElement>("[id],[for]").forEach((el) => {
        if (el.id) el.id = el.id.replace("__N__", String(n));
        const f = el.getAttribute("for");
        if (f) el.setAttribute("for", f.replace("__N__", String(n)));
      });
      target.appendChild(frag);
      target.lastElementChild?.querySelector<HTMLElement>("input,select")?.focus();
    });
  });
  document.addEventListener("click", (ev) => {
    const btn = (ev.target as HTMLElement).closest<HTMLButtonElement>("[data-remove-row]");
    if (btn) btn.closest(".rowitem")?.remove();
  });
});

// A region marked data-refresh="ms" reloads itself from the server while it
// keeps the mark, e.g. a run log while a run is in progress. Only that
// region is replaced, so forms elsewhere on the page keep what was typed.
onReady(() => {
  const poll = (id: string, ms: number): void => {
    window.setTimeout(async () => {
      try {
        const res = await fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
        if (!res.ok || res.redirected) return;
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const fresh = doc.getElementById(id);
        const cur = document.getElementById(id);
        if (!fresh || !cur) return;
        cur.replaceWith(fresh);
        const again = fresh.dataset.refresh;
        if (again) poll(id, Number(again));
      } catch {
        /* offline: leave the region as it is */
      }
    }, ms);
  };
  document.querySelectorAll<HTMLElement>("[data-refresh]").forEach((el) => {
    if (el.id) poll(el.id, Number(el.dataset.refresh) || 2000);
  });
});

// A module to tsc, so its top-level names are its own (the bundle is an IIFE).
export {};
