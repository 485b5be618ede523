/*
 * Batch page progress: polls the batch's progress endpoint while it generates, sends emails
 * or renders letters, updates the bars, and reloads the page once the state changes (or a
 * download finishes, or sending stops, or generation stalls) so the counts, notes and buttons
 * are current.
 */
(function () {
  'use strict';

  var INTERVAL_MS = 2000;

  function setBar(section, key, done, total) {
    var bar = section.querySelector('[data-progress="' + key + '"]');
    var text = section.querySelector('[data-progress-text="' + key + '"]');
    if (!bar) return;
    if (total > 0) {
      bar.max = total;
      bar.value = done;
      if (text) text.textContent = done.toLocaleString() + ' / ' + total.toLocaleString();
    } else {
      bar.removeAttribute('value'); // indeterminate until the task knows its total
    }
  }

  function downloadsKey(downloads) {
    return downloads
      .map(function (d) {
        return d.id + ':' + d.status + ' ';
      })
      .join('');
  }

  function start(section) {
    var url = section.dataset.progressUrl;
    var status = section.dataset.status;
    var downloads = section.dataset.downloads || '';
    var sending = section.dataset.sending === '1';
    var stalled = section.dataset.generationStalled === '1';

    function poll() {
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) {
          if (!response.ok) throw new Error('HTTP ' + response.status);
          return response.json();
        })
        .then(function (data) {
          var changed =
            data.status !== status ||
            downloadsKey(data.downloads) !== downloads ||
            data.sending !== sending ||
            data.generation.stalled !== stalled;
          if (changed) {
            window.location.reload();
            return;
          }
          setBar(section, 'generation', data.generation.done, data.generation.total);
          setBar(section, 'emails', data.emails.done, data.emails.total);
          data.downloads.forEach(function (d) {
            setBar(section, 'download-' + d.id, d.done, d.total);
          });
          window.setTimeout(poll, INTERVAL_MS);
        })
        .catch(function () {
          // A hiccup (server restart, network): try again, more slowly.
          window.setTimeout(poll, INTERVAL_MS * 3);
        });
    }

    window.setTimeout(poll, INTERVAL_MS);
  }

  document.addEventListener('DOMContentLoaded', function () {
    var section = document.querySelector('[data-batch-progress]');
    if (section) start(section);
  });
})();
