// piccolo-admin's edit form, with the fixed columns read-only (api/pages/admin_wiring.py
// FIXED_COLUMNS: account, card, parent, stock, ...). piccolo-admin has no read-only column,
// so this marks them once the form is drawn: disabled, they are shown but not sent, and a
// save changes only what may change. The server checks the same rule on every save.
(() => {
  const fixed = new Set(document.currentScript.dataset.fixed.split(","));
  const editing = () => /^#\/[^/]+\/\d+\/?$/.test(location.hash);

  function disable(field) {
    field.disabled = true;
    field.title = "不可在此修改";
    field.style.opacity = "0.6";
  }

  function lock() {
    if (!editing()) return;
    for (const field of document.querySelectorAll("form [name]")) {
      if (!fixed.has(field.name) || field.disabled) continue;
      disable(field);
      const search = field.closest(".key_search"); // a reference: a text box opening a picker
      if (search) {
        search.style.pointerEvents = "none";
        search.querySelectorAll("input").forEach(disable);
      }
    }
    // created_at: the time widget has no name and is never sent; shown read-only all the same.
    for (const field of document.querySelectorAll('form input[type="datetime-local"]')) {
      if (field.disabled) continue;
      disable(field);
      const zone = field.parentElement.querySelector("select");
      if (zone) disable(zone);
    }
  }

  new MutationObserver(lock).observe(document.documentElement, {
    childList: true,
    subtree: true,
  });
  window.addEventListener("hashchange", lock);
})();

// The sidebar's table names in the page's language: piccolo-admin titles each link from the
// table's database name (also its URL); the labels come from GET ./api/table-labels/.
(() => {
  let labels = {};
  function relabel() {
    for (const link of document.querySelectorAll('a[href^="#/"]')) {
      const table = link.getAttribute("href").slice(2).replace(/\/$/, "");
      const span = link.querySelector("span");
      if (!labels[table] || !span || span.textContent === labels[table]) continue;
      span.textContent = labels[table];
      link.title = table;
    }
  }
  fetch("./api/table-labels/", { credentials: "same-origin" })
    .then((reply) => (reply.ok ? reply.json() : {}))
    .then((found) => {
      labels = found;
      relabel();
      new MutationObserver(relabel).observe(document.documentElement, {
        childList: true,
        subtree: true,
      });
    });
})();
