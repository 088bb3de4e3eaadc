// Behaviour shared by every page; the pages work without it.

// A refused form comes back with its message at the field: bring it into view and put the
// cursor in the field, so nobody scrolls two screens to find what went wrong.
(function showFirstError() {
  const error = document.querySelector(".field-error, .error[role=alert]");
  if (!error) return;
  error.scrollIntoView({ block: "center" });
  const holder = error.closest(".field, form, .card");
  const field = holder && holder.querySelector("input:not([type=hidden]), textarea, select");
  if (field) field.focus({ preventScroll: true });
})();

// Pages waiting on the system (assessment, assignment, approvals) ask a small endpoint
// every few seconds and reload when the record has moved on, unless someone is typing.
(function pollWhileWaiting() {
  const marker = document.querySelector("[data-live]");
  if (!marker) return;
  const url = marker.dataset.live;
  const seen = marker.dataset.version;
  let typing = false;
  document.addEventListener("input", () => { typing = true; });
  const ask = async () => {
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" } });
      if (answer.ok) {
        const body = await answer.json();
        if (body.version !== seen && !typing) { window.location.reload(); return; }
      }
    } catch (e) { /* offline for a moment: ask again */ }
    window.setTimeout(ask, 2000);
  };
  window.setTimeout(ask, 2000);
})();

// A chooser that shows another view (the OEE page's machine) goes there once chosen; the
// page's own button does the same without script.
(function submitOnChange() {
  document.querySelectorAll("select[data-submit-on-change]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
})();
