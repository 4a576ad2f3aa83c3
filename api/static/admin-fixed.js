// piccolo-admin's edit form, with the fixed columns read-only (ledger/store/admin.py
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
