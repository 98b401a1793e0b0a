/* Konsekvens: progressive enhancement only. Every page works without this file; the server decides
   what is saved and which questions apply. Loaded with <script src defer> (no inline script, CSP-ready).

   (a) forms marked data-warn-unsaved warn before the page is left with changes that are not saved;
   (b) a form's submit buttons are disabled after the first submit (no double posts), and enabled
       again when the page is shown again (back button, failed request);
   (c) wizard questions with data-show-if are hidden while the answer they depend on (a control on the
       same page) does not meet their condition;
   (d) the warnings and the screening outcome follow the answers on a wizard step as they are given;
   (e) "Add this measure" next to a suggested measure fills the risk register's own measure form (title,
       the risk ticked) and moves there, instead of opening the measure page the link leads to;
   and the error summary of a form sent back with problems gets the focus. */
(function () {
  "use strict";

  /* ---- (a) unsaved changes --------------------------------------------------------------- */

  function snapshot(form) {
    // FormData follows form ownership, so controls of other forms placed inside this one with the
    // form="…" attribute (the reply boxes next to a question) do not count as changes to it.
    var parts = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { parts.push(name + "=" + value); }
    });
    return parts.join("&");
  }

  var watched = [];
  var leavingBySubmit = false;

  function watchForms() {
    var forms = document.querySelectorAll("form[data-warn-unsaved]");
    for (var i = 0; i < forms.length; i++) {
      watched.push({ form: forms[i], initial: snapshot(forms[i]) });
    }
  }

  function hasUnsavedChanges() {
    for (var i = 0; i < watched.length; i++) {
      if (snapshot(watched[i].form) !== watched[i].initial) { return true; }
    }
    return false;
  }

  window.addEventListener("beforeunload", function (event) {
    if (leavingBySubmit || !hasUnsavedChanges()) { return undefined; }
    event.preventDefault();
    event.returnValue = "";  // browsers show their own text; older ones need returnValue set
    return "";
  });

  /* ---- (b) one submit per form ------------------------------------------------------------ */

  function submitButtons(form) {
    var result = [];
    var candidates = form.querySelectorAll("button, input[type=submit], input[type=image]");
    for (var i = 0; i < candidates.length; i++) {
      var el = candidates[i];
      if (el.form === form && (el.type === "submit" || el.type === "image")) { result.push(el); }
    }
    if (form.id) {  // buttons outside the form that belong to it through form="…"
      var outside = document.querySelectorAll('[form="' + form.id.replace(/"/g, '\\"') + '"]');
      for (var j = 0; j < outside.length; j++) {
        if (outside[j].type === "submit" && result.indexOf(outside[j]) < 0) { result.push(outside[j]); }
      }
    }
    return result;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) { return; }
    if (form.hasAttribute("data-submitting")) {  // a second click while the first request is under way
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "");
    // Saving the watched form is the intended way to leave; sending another form (a reply, logging
    // out) still warns when the watched form has unsaved changes.
    for (var w = 0; w < watched.length; w++) {
      if (watched[w].form === form) { leavingBySubmit = true; }
    }
    var buttons = submitButtons(form);
    // Disable after the browser has built the form data: a disabled submitter would drop its
    // name/value (e.g. action=later) from the request.
    window.setTimeout(function () {
      for (var i = 0; i < buttons.length; i++) {
        if (!buttons[i].disabled) {
          buttons[i].disabled = true;
          buttons[i].setAttribute("data-disabled-on-submit", "");
        }
      }
    }, 0);
  });

  window.addEventListener("pageshow", function () {
    // Coming back (history, bfcache) or after a failed request: the forms must work again.
    leavingBySubmit = false;
    var forms = document.querySelectorAll("form[data-submitting]");
    for (var i = 0; i < forms.length; i++) { forms[i].removeAttribute("data-submitting"); }
    var buttons = document.querySelectorAll("[data-disabled-on-submit]");
    for (var j = 0; j < buttons.length; j++) {
      buttons[j].disabled = false;
      buttons[j].removeAttribute("data-disabled-on-submit");
    }
  });

  /* ---- (c) conditional questions ---------------------------------------------------------- */

  function controlsNamed(root, name) {
    var all = root.querySelectorAll("input, select, textarea");
    var result = [];
    for (var i = 0; i < all.length; i++) {
      if (all[i].name === name) { result.push(all[i]); }
    }
    return result;
  }

  function currentValue(controls) {
    var first = controls[0];
    if (first.type === "checkbox") {
      var values = [];
      for (var i = 0; i < controls.length; i++) { if (controls[i].checked) { values.push(controls[i].value); } }
      return values;
    }
    if (first.type === "radio") {
      for (var j = 0; j < controls.length; j++) { if (controls[j].checked) { return controls[j].value; } }
      return null;
    }
    return first.value === "" ? null : first.value;
  }

  function parseList(text) {
    try {
      var list = JSON.parse(text);
      return Array.isArray(list) ? list.map(String) : [String(list)];
    } catch (e) {
      return text.split(/\s+/).filter(Boolean);
    }
  }

  function conditionMet(box, value) {
    if (value === null || value === undefined) { return false; }  // unanswered never meets a condition
    if (box.hasAttribute("data-show-if-equals")) {
      return !Array.isArray(value) && value === box.getAttribute("data-show-if-equals");
    }
    if (box.hasAttribute("data-show-if-any-of")) {
      return !Array.isArray(value) && parseList(box.getAttribute("data-show-if-any-of")).indexOf(value) >= 0;
    }
    if (box.hasAttribute("data-show-if-includes")) {
      return Array.isArray(value) && value.indexOf(box.getAttribute("data-show-if-includes")) >= 0;
    }
    return true;  // no condition value on the page: leave the question to the server
  }

  function isHiddenQuestion(control) {
    var holder = control.closest("[data-show-if]");
    return holder !== null && holder.hidden;
  }

  function updateConditions(root) {
    // Conditions refer to earlier questions, so one pass in document order also settles chains:
    // an answer inside a hidden question counts as no answer.
    var boxes = root.querySelectorAll("[data-show-if]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var form = box.closest("form") || root;
      var controls = controlsNamed(form, box.getAttribute("data-show-if"));
      if (controls.length === 0) { box.hidden = false; continue; }  // not on this page: the server decided
      var value = isHiddenQuestion(controls[0]) ? null : currentValue(controls);
      box.hidden = !conditionMet(box, value);
    }
  }

  function watchConditions() {
    var forms = document.querySelectorAll("form");
    for (var i = 0; i < forms.length; i++) {
      if (!forms[i].querySelector("[data-show-if]")) { continue; }
      (function (form) {
        form.addEventListener("change", function () { updateConditions(form); });
        form.addEventListener("input", function () { updateConditions(form); });
        updateConditions(form);
      })(forms[i]);
    }
  }

  /* ---- (d) live feedback: warnings and the screening outcome as the user answers ------------ */
  // The form is sent, without saving, to data-feedback-url; the server answers with the warnings per
  // field and the screening outcome for the answers on the page. Without this, they show after saving.

  function replaceWarnings(form, warnings) {
    var boxes = form.querySelectorAll("[data-warnings-for]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var texts = warnings[box.getAttribute("data-warnings-for")] || [];
      var current = [];
      var shown = box.querySelectorAll(".warning > span:last-child");
      for (var k = 0; k < shown.length; k++) { current.push(shown[k].textContent); }
      if (current.join("\n") === texts.join("\n")) { continue; }  // unchanged: nothing for a screen reader
      var template = form.getAttribute("data-note") || "";
      var lang = form.getAttribute("data-lang");
      box.textContent = "";
      for (var j = 0; j < texts.length; j++) {
        var p = document.createElement("p");
        p.className = "warning";
        var prefix = document.createElement("span");
        prefix.className = "visually-hidden";
        prefix.textContent = template;
        var text = document.createElement("span");
        if (lang) { text.lang = lang; }
        text.textContent = texts[j];
        p.appendChild(prefix);
        p.appendChild(text);
        box.appendChild(p);
      }
    }
  }

  function watchFeedback() {
    var form = document.querySelector("form[data-feedback-url]");
    var target = document.getElementById("screening-feedback");
    if (!form || !window.fetch || !window.FormData) { return; }
    var timer = null;
    var sequence = 0;
    function ask() {
      var mine = ++sequence;
      var data = new FormData(form);
      data.delete("action");
      window.fetch(form.getAttribute("data-feedback-url"), {
        method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (!answer || mine !== sequence) { return; }  // a later answer is on its way
        replaceWarnings(form, answer.warnings || {});
        if (target && typeof answer.screening === "string" && target.innerHTML.trim() !== answer.screening.trim()) {
          target.innerHTML = answer.screening;
        }
      }).catch(function () { /* offline or refused: the page says it all after saving */ });
    }
    function later() {
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(ask, 400);
    }
    form.addEventListener("change", later);
    form.addEventListener("input", later);
  }

  /* ---- (e) a suggested measure into the measure form ------------------------------------------ */

  function watchSuggestions() {
    var form = document.querySelector("#add-measure form");
    if (!form) { return; }
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[data-prefill-measure]") : null;
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
      var title = form.querySelector("[name=title]");
      var box = form.querySelector("input[name=risks][value='" + link.getAttribute("data-risk") + "']");
      if (!title || !box) { return; }  // the measure page does it
      event.preventDefault();
      title.value = link.getAttribute("data-title");
      box.checked = true;
      form.scrollIntoView();
      title.focus();
    });
  }

  /* ---- error summary: move focus to it, so the problems are read first (as GOV.UK does) ------ */

  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary && !window.location.hash) { summary.focus(); }
  }

  function start() {
    document.documentElement.classList.add("js");
    watchConditions();
    watchFeedback();
    watchSuggestions();
    watchForms();
    focusErrorSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
