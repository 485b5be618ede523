/*
 * A page that shows something still being done in the background (a one-time email queued,
 * its letter PDF being made) marks it with data-refresh-while-pending. This script fetches the
 * same page every few seconds and reloads it once the fetched page no longer carries the mark,
 * so the outcome appears without the admin reloading. It gives up after ten minutes (the page
 * still says what is pending).
 */
(function () {
  'use strict';

  var MARK = '[data-refresh-while-pending]';
  var GIVE_UP_MS = 10 * 60 * 1000;
  var started = Date.now();
  var delay = 1500;

  if (!document.querySelector(MARK)) return;

  function poll() {
    fetch(window.location.href, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          var page = new DOMParser().parseFromString(html, 'text/html');
          if (!page.querySelector(MARK)) return window.location.reload();
        }
        schedule();
      })
      .catch(schedule);
  }

  function schedule() {
    if (Date.now() - started > GIVE_UP_MS) return;
    delay = Math.min(delay * 1.5, 10000);
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, delay);
})();
