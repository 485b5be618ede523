/*
 * Batch page progress: polls the batch's progress endpoint while it generates, sends emails
 * or renders letters, updates the bars, and reloads the page once the state changes (or a
 * download finishes, or sending stops, or generation stalls) so the counts, notes and buttons
 * are current. On a page that is only about one download (``data-done-url``), it goes there
 * once the download is no longer being prepared instead of reloading.
 */
(function () {
  'use strict';

  var INTERVAL_MS = 2000;

  function setBar(section, key, done, total, timeLeft) {
    var bar = section.querySelector('[data-progress="' + key + '"]');
    var text = section.querySelector('[data-progress-text="' + key + '"]');
    var eta = section.querySelector('[data-progress-eta="' + key + '"]');
    if (!bar) return;
    if (total > 0) {
      bar.max = total;
      if (text) {
        var unit = text.dataset.unit ? ' ' + text.dataset.unit : '';
        text.textContent = done.toLocaleString() + ' / ' + total.toLocaleString() + unit;
      }
    }
    if (total > 0 && done > 0) {
      bar.value = done;
    } else {
      bar.removeAttribute('value'); // indeterminate (moving) until the first items are done
    }
    if (eta) eta.textContent = timeLeft ? '\u00b7 ' + timeLeft : '';
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
            if (section.dataset.doneUrl) window.location.assign(section.dataset.doneUrl);
            else window.location.reload();
            return;
          }
          setBar(section, 'generation', data.generation.done, data.generation.total);
          setBar(section, 'emails', data.emails.done, data.emails.total);
          data.downloads.forEach(function (d) {
            setBar(section, 'download-' + d.id, d.done, d.total, d.time_left);
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
