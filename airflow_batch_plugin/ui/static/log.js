/*
 * The live tail of a job's log page: served by the view, no build step, no inline code.
 * The <pre data-tail-url data-forward-token data-refresh-seconds> of the page holds what it
 * needs; every few seconds it asks the log's JSON twin for the events after the forward token
 * (GetLogEvents' nextForwardToken), appends them as text, and stops once the job has ended and
 * nothing more came.
 */
(function () {
  "use strict";

  var pre = document.querySelector("pre[data-tail-url]");
  if (!pre) {
    return;
  }
  var url = pre.getAttribute("data-tail-url");
  var token = pre.getAttribute("data-forward-token") || "";
  var every = Number(pre.getAttribute("data-refresh-seconds") || "0");
  var note = document.querySelector("[data-tail-note]");

  function say(text) {
    if (note) {
      note.textContent = text;
    }
  }

  function append(events) {
    var follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    events.forEach(function (event) {
      var stamp = document.createElement("span");
      stamp.className = "ts";
      stamp.textContent = event.time;
      pre.appendChild(stamp);
      pre.appendChild(document.createTextNode(" " + event.message + "\n"));
    });
    if (follow) {
      pre.scrollTop = pre.scrollHeight;
    }
  }

  function poll() {
    var address = url + (token ? "&token=" + encodeURIComponent(token) : "");
    fetch(address, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var events = data.events || [];
        append(events);
        if (data.next_forward_token) {
          token = data.next_forward_token;
        }
        if (!data.running && events.length === 0) {
          say("The job has ended (" + data.status + "): the log is complete.");
          return;
        }
        say("Following the log while the job runs (every " + every + " s).");
        window.setTimeout(poll, every * 1000);
      }, function (error) {
        say("Following the log paused (" + error.message + ").");
        window.setTimeout(poll, every * 1000);
      });
  }

  if (every > 0 && token) {
    pre.scrollTop = pre.scrollHeight;
    window.setTimeout(poll, every * 1000);
  } else {
    say("Live tail off ([aws_batch] view_refresh_seconds = 0).");
  }
}());
