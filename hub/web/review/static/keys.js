// One-key shortcuts of the review pages: a key presses the button whose
// data-key it is (s same, d different, n not sure, k skip, u undo).
// Keys typed into a field are left alone, and so are keys with modifiers.
"use strict";
var sent = false;
document.addEventListener("keydown", function (event) {
  if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) {
    return;
  }
  var target = event.target;
  if (target && target.closest && target.closest("input, textarea, select")) {
    return;
  }
  var key = (event.key || "").toLowerCase();
  if (!/^[a-z]$/.test(key)) {
    return;
  }
  var button = document.querySelector('button[data-key="' + key + '"]');
  if (button && !button.disabled && !sent) {
    event.preventDefault();
    sent = true;
    button.form.requestSubmit(button);
  }
});
