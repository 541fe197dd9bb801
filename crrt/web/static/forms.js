// Progressive help for forms; every page works without it.
// The institution list offers only the chosen nation's institutions.
document.addEventListener("DOMContentLoaded", () => {
  const nation = document.getElementById("org");
  const institution = document.getElementById("institution_id");
  if (!nation || !institution || nation.tagName !== "SELECT") return;
  const groups = Array.from(institution.querySelectorAll("optgroup[data-org]"));
  const offer = () => {
    for (const group of groups) {
      const chosen = group.dataset.org === nation.value;
      group.hidden = !chosen;
      group.disabled = !chosen;
      if (!chosen && institution.selectedOptions[0] && group.contains(institution.selectedOptions[0])) {
        institution.value = "";
      }
    }
  };
  nation.addEventListener("change", offer);
  offer();
});

// A form sent after the session ended is not saved: the server sends the person to sign in
// (saying so) and then back to the form's page, where what they typed is put back. Each
// posted form is kept in this tab's sessionStorage until the next page shows, with whose it
// was: it is put back only for the same person, in the same form of the same page.
// Passwords, files and the CSRF token are never kept.
const DRAFT = "crrt-draft";
const RESUME = "crrt-resume";
const kept = (field) => field.name && field.name !== "csrf_token" &&
  !["password", "file", "submit", "button", "hidden"].includes(field.type);
// attributes, not properties: a field named "action" or "method" hides the form's own
const actionOf = (form) => form.getAttribute("action") || "";
const postForms = () => Array.from(document.querySelectorAll("form"))
  .filter((form) => (form.getAttribute("method") || "").toLowerCase() === "post");

document.addEventListener("submit", (event) => {
  const form = event.target;
  const action = actionOf(form);
  if ((form.getAttribute("method") || "").toLowerCase() !== "post" ||
      action === "/login" || action === "/logout") return;
  const fields = [];
  for (const field of form.elements) {
    if (!kept(field)) continue;
    const checkable = field.type === "checkbox" || field.type === "radio";
    fields.push([field.name, field.value, checkable ? field.checked : null]);
  }
  const same = postForms().filter((f) => actionOf(f) === action);
  try {
    sessionStorage.setItem(DRAFT, JSON.stringify({
      viewer: document.body.dataset.viewer, page: location.pathname + location.search,
      action, index: same.indexOf(form), fields,
    }));
  } catch (error) { /* storage full or refused: nothing is kept */ }
});

document.addEventListener("DOMContentLoaded", () => {
  let draft = null;
  try {
    if (document.querySelector("[data-session-ended]")) sessionStorage.setItem(RESUME, "1");
    if (location.pathname === "/login") return;  // the draft waits for the form's page
    draft = JSON.parse(sessionStorage.getItem(DRAFT) || "null");
    const resume = sessionStorage.getItem(RESUME) === "1";
    sessionStorage.removeItem(DRAFT);
    sessionStorage.removeItem(RESUME);
    if (!resume || !draft || draft.page !== location.pathname + location.search) return;
    if (!draft.viewer || draft.viewer !== document.body.dataset.viewer) return;  // another's
  } catch (error) { return; }
  const form = postForms().filter((f) => actionOf(f) === draft.action)[draft.index];
  if (!form) return;
  const used = new Map();
  for (const [name, value, checked] of draft.fields) {
    const candidates = Array.from(form.elements).filter((f) => f.name === name && kept(f));
    if (checked !== null) {
      const box = candidates.find((f) => f.value === value);
      if (box) box.checked = checked;
      continue;
    }
    const index = used.get(name) || 0;
    used.set(name, index + 1);
    if (candidates[index]) candidates[index].value = value;
  }
  document.getElementById("org")?.dispatchEvent(new Event("change"));
  const notice = document.getElementById("form-restored");
  if (notice) {
    form.before(notice);
    notice.hidden = false;
    notice.focus();
  }
});

// On a phone, a list's filters fold away so the list shows first (not when one is wrong).
document.addEventListener("DOMContentLoaded", () => {
  if (!window.matchMedia("(max-width: 40rem)").matches) return;
  for (const panel of document.querySelectorAll("details[data-fold-on-phone]")) panel.open = false;
});
