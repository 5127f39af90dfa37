// 值班控制台: counts deadlines down every second and, on the event list, polls /console/api/open every
// few seconds and redraws the list (same markup as console_dashboard.html.j2), so a new incident appears
// without a reload. Text goes in with textContent only: nothing from the server is parsed as HTML.
(function () {
  "use strict";
  var LEVELS = [["red", "红色预警"], ["yellow", "黄色预警"], ["blue", "蓝色预警"]];
  var POLL_MS = 3000;
  var offset = 0; // the server's clock minus the browser's, in seconds: deadlines count on the server's

  function syncClock(serverNow) {
    if (serverNow) { offset = Number(serverNow) - Date.now() / 1000; }
  }

  function duration(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    return h > 0 ? h + " 小时 " + m + " 分" : m + " 分 " + s + " 秒";
  }

  function tick() {
    var now = Date.now() / 1000 + offset;
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.round(Number(el.getAttribute("data-deadline")) - now);
      el.textContent = left > 0 ? "剩余 " + duration(left) : "已超时 " + duration(-left);
      el.classList.toggle("late", left <= 0);
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function item(row) {
    var link = el("a", "incident status-" + row.status);
    link.id = "inc-" + row.id;
    link.href = "/console/incident?id=" + encodeURIComponent(row.id);
    link.appendChild(el("span", "title", row.title));
    link.appendChild(el("span", "meta", row.id + (row.category ? " · " + row.category : "") + " · 发现 " + row.opened));
    link.appendChild(el("span", "status", row.status_label + (row.acked_by ? "（" + row.acked_by + "）" : "")));
    if (row.deadline) {
      var deadline = el("span", "deadline");
      deadline.setAttribute("data-deadline", String(row.deadline));
      link.appendChild(deadline);
    }
    var li = el("li");
    li.appendChild(link);
    return li;
  }

  function draw(board, data) {
    var sections = [], red = 0;
    LEVELS.forEach(function (level) {
      var mine = data.incidents.filter(function (row) { return row.level === level[0]; });
      var section = el("section", "level level-" + level[0]);
      var title = el("h2", null, level[1] + " ");
      title.appendChild(el("span", "count", String(mine.length)));
      section.appendChild(title);
      if (mine.length) {
        var list = el("ul");
        mine.forEach(function (row) { list.appendChild(item(row)); });
        section.appendChild(list);
      } else {
        section.appendChild(el("p", "none", "无"));
      }
      if (level[0] === "red") {
        red = mine.filter(function (row) { return row.status === "open"; }).length;
      }
      sections.push(section);
    });
    board.replaceChildren.apply(board, sections);
    document.title = (red ? "(" + red + ") " : "") + "事件 · 舆情哨兵";
    tick();
  }

  function poll(board) {
    var updated = document.getElementById("updated");
    fetch("/console/api/open", {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (response.status === 401) { window.location.assign("/console/login"); return null; }
      return response.json();
    }).then(function (data) {
      if (!data) { return; }
      syncClock(data.now);
      draw(board, data);
      if (updated) { // the server's time, in Beijing time like every time on the page, whatever the phone's zone
        var at = new Date((Date.now() / 1000 + offset) * 1000);
        updated.textContent = "已更新 " + at.toLocaleTimeString("zh-CN", {hour12: false, timeZone: "Asia/Shanghai"});
      }
    }).catch(function () {
      if (updated) { updated.textContent = "连接中断，正在重试…"; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var anchor = document.querySelector("[data-now]");
    if (anchor) { syncClock(anchor.getAttribute("data-now")); }
    tick();
    window.setInterval(tick, 1000);
    var board = document.getElementById("incidents");
    if (board) { window.setInterval(function () { poll(board); }, POLL_MS); }
  });
}());
