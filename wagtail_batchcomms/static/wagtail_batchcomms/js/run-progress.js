/*
 * A background run's page (a register import being checked or written, a listing export being
 * written): polls the run's progress endpoint (data-progress-url), moves the bar, and reloads
 * the page once the run is no longer busy (so its counts, errors, buttons or download link
 * are current).
 */
(function () {
  'use strict';

  var INTERVAL_MS = 1500;

  function start(section) {
    var url = section.dataset.progressUrl;
    var bar = section.querySelector('progress');
    var text = section.querySelector('[data-run-progress-text]');

    function poll() {
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data) return window.setTimeout(poll, INTERVAL_MS * 2);
          if (!data.busy) return window.location.reload();
          if (data.total > 0) {
            bar.max = data.total;
            bar.value = data.done;
            text.textContent = data.done.toLocaleString() + ' / ' + data.total.toLocaleString();
          } else if (data.done > 0) {
            text.textContent = data.done.toLocaleString();
          }
          window.setTimeout(poll, INTERVAL_MS);
        })
        .catch(function () {
          window.setTimeout(poll, INTERVAL_MS * 2);
        });
    }

    window.setTimeout(poll, INTERVAL_MS);
  }

  document.querySelectorAll('[data-run-progress]').forEach(start);
})();
