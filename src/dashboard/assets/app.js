// The dashboard: signs in through the API and shows what the API answers the
// signed-in user. Figures are shown as the API gives them; the only arithmetic
// here turns fractions into percentages for display.
'use strict';

(() => {
  const API = '/api/v1';
  const SESSION_KEY = 'invest-registry.dashboard';
  // Records' names and texts are data: they go into the page as text, never as markup.
  const $ = (id) => document.getElementById(id);

  const UNITS = {
    new_taiwan_investment_usd: { unit: '美元', digits: 2 },
    taiwan_funded_enterprises: { unit: '家', digits: 0 },
    taiwan_top100_present: { unit: '家', digits: 0 },
    taiwan_funded_output_ratio: { unit: '倍', digits: 4 },
  };
  const STATUS = { met: '已完成', on_track: '进度正常', behind: '进度滞后' };
  const ACTIONS = { create: '新增', update: '修改', delete: '删除', purge: '清除个人信息', import: '导入' };
  const LIBRARIES = {
    project: '项目', investor: '客商', talent: '人才', park: '园区', top100: '前百大企业',
    target_settings: '目标设置', claim: '首报首谈', monitoring_rules: '监测规则',
  };

  let labels = { parks: {}, stages: {}, roles: {} };
  let charts = [];

  // ---- the session ---------------------------------------------------------

  function session() {
    try { return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null; } catch { return null; }
  }

  function keep(pair) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ access: pair.access_token, refresh: pair.refresh_token }));
  }

  async function post(path, body) {
    const res = await fetch(API + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  // A 401 spends the refresh token once for a new pair; a second 401 ends the session.
  async function get(path, retried) {
    const current = session();
    if (!current) throw new SignedOut();
    const res = await fetch(API + path, { headers: { Authorization: 'Bearer ' + current.access } });
    if (res.status === 401 && !retried) {
      const renewed = await post('/auth/refresh', { refresh_token: current.refresh });
      if (renewed.status === 200) { keep(renewed.body); return get(path, true); }
    }
    if (res.status === 401) { sessionStorage.removeItem(SESSION_KEY); throw new SignedOut(); }
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  class SignedOut extends Error {}

  function problem(res) {
    return (res.body && (res.body.detail || res.body.title)) || ('HTTP ' + res.status);
  }

  async function must(path) {
    const res = await get(path);
    if (res.status !== 200) throw new Error(problem(res));
    return res.body;
  }

  // ---- small helpers for the page ---------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function table(headings, rows) {
    return el('table', {}, el('thead', {}, el('tr', {}, headings.map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c))))));
  }

  function fill(id, ...content) { $(id).replaceChildren(...content); }

  function nothing(id, text) { fill(id, el('p', { class: 'empty' }, text || '暂无数据')); }

  function failed(id, error) { fill(id, el('p', { class: 'error' }, '加载失败：' + error.message)); }

  function number(value, digits) {
    return Number(value).toLocaleString('zh-CN', { maximumFractionDigits: digits });
  }

  function percent(fraction) {
    return fraction === null || fraction === undefined ? '—' : (fraction * 100).toFixed(1) + '%';
  }

  function parkName(code) { return labels.parks[code] || code || '—'; }

  function when(iso) {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? iso : t.toLocaleString('zh-CN', { hour12: false });
  }

  function chart(id, option) {
    const instance = echarts.init($(id), null, { renderer: 'canvas' });
    instance.setOption(Object.assign({ animation: false, textStyle: { fontFamily: 'sans-serif' } }, option));
    charts.push(instance);
    return instance;
  }

  // ---- the panels ----------------------------------------------------------------

  function showTargets(report) {
    const scope = report.scope === 'zone' ? '全区' : parkName(report.scope);
    $('as-of').textContent = `${scope} · 数据截至 ${report.as_of} · 考核期 ${report.period.from} 至 ${report.period.to}`;
    fill('targets', ...report.targets.map((t) => {
      const { unit, digits } = UNITS[t.key] || { unit: '', digits: 4 };
      const zone = t.zone
        ? el('p', { class: 'zone' }, `全区：${number(t.zone.value, digits)} / ${number(t.zone.target, digits)} ${unit}（${percent(t.zone.progress)}，${STATUS[t.zone.status] || '—'}）`)
        : null;
      return el('article', { class: 'target ' + (t.status || 'none'), 'data-key': t.key },
        el('h3', {}, t.label),
        el('p', { class: 'value' }, el('span', { class: 'figure', 'data-value': String(t.value) }, number(t.value, digits)), ' ', unit),
        el('p', {}, t.target === null ? '本园区未分解目标' : `目标 ${number(t.target, digits)} ${unit}`),
        el('p', {}, `完成进度 ${percent(t.progress)} · 时间进度 ${percent(t.time_elapsed)}`),
        t.status ? el('p', { class: 'status' }, STATUS[t.status]) : null,
        zone);
    }));
    chart('progress-chart', {
      title: { text: '完成进度与时间进度', left: 'center', textStyle: { fontSize: 14 } },
      legend: { bottom: 0 },
      grid: { left: 170, right: 40, top: 40, bottom: 40 },
      xAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
      yAxis: { type: 'category', inverse: true, data: report.targets.map((t) => t.label) },
      series: [
        { name: '完成进度', type: 'bar', data: report.targets.map((t) => (t.progress === null ? null : +(t.progress * 100).toFixed(1))),
          label: { show: true, position: 'right', formatter: '{c}%' } },
        { name: '时间进度', type: 'bar', data: report.targets.map((t) => +(t.time_elapsed * 100).toFixed(1)),
          label: { show: true, position: 'right', formatter: '{c}%' } },
      ],
    });
  }

  function showParks(report) {
    const codes = [...new Set(report.targets.flatMap((t) => t.by_park.map((p) => p.park_code)))];
    if (codes.length === 0) { nothing('by-park'); return; }
    const cell = (t, code) => {
      const figure = t.by_park.find((p) => p.park_code === code);
      if (!figure) return '—';
      const { digits } = UNITS[t.key] || { digits: 4 };
      return figure.target === null ? number(figure.value, digits) : `${number(figure.value, digits)} / ${number(figure.target, digits)}`;
    };
    fill('by-park', table(['园区', ...report.targets.map((t) => t.label)],
      codes.map((code) => [parkName(code), ...report.targets.map((t) => cell(t, code))])));
    const money = report.targets.find((t) => t.key === 'new_taiwan_investment_usd');
    if (!money) return;
    chart('park-chart', {
      title: { text: '新增台商投资：各园区贡献（美元）', left: 'center', textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'item', renderMode: 'richText' },
      series: [{ type: 'pie', radius: ['35%', '65%'], top: 30,
        label: { formatter: '{b}\n{d}%' },
        data: money.by_park.map((p) => ({ name: parkName(p.park_code), value: p.value })) }],
    });
  }

  function showFunnel(res) {
    const cohorts = res.status === 200 && res.body && Array.isArray(res.body.cohorts) ? res.body.cohorts : null;
    if (res.status !== 200 && res.status !== 404) throw new Error(problem(res));
    $('funnel-chart').hidden = false;
    if (!cohorts || cohorts.length === 0) { nothing('funnel'); $('funnel-chart').hidden = true; return; }
    // The largest cohort draws the clearest funnel (the newest has barely begun).
    const latest = [...cohorts].sort((a, b) => b.projects - a.projects || b.cohort - a.cohort)[0];
    chart('funnel-chart', {
      title: { text: `${latest.cohort}年首次接洽的项目（${latest.projects}个）`, left: 'center', textStyle: { fontSize: 14 } },
      series: [{ type: 'funnel', top: 40, bottom: 10, sort: 'none', minSize: '10%',
        label: { formatter: '{b}：{c}' },
        data: latest.stages.map((s) => ({ name: s.label || labels.stages[s.stage] || s.stage, value: s.reached })) }],
    });
    fill('funnel', ...cohorts.map((c) => el('div', { class: 'cohort' },
      el('h3', {}, `${c.cohort}年（${c.projects}个项目，放弃 ${c.dropped ?? 0} 个）`),
      table(['阶段', '到达', '转化率', '停留天数（中位数）'], c.stages.map((s) => [
        s.label || labels.stages[s.stage] || s.stage, s.reached, percent(s.conversion),
        s.median_days === null || s.median_days === undefined ? '—' : s.median_days,
      ])))));
  }

  function showRed(report) {
    $('red-as-of').textContent = `判定日期 ${report.as_of}`;
    if (report.items.length === 0) { nothing('red-list', '没有红灯项目'); return; }
    fill('red-list', table(['园区', '项目', '阶段', '原因'], report.items.map((p) => [
      parkName(p.park_code), p.name, labels.stages[p.stage] || p.stage,
      el('ul', {}, p.light_reasons.map((r) => el('li', {}, r.label))),
    ])), report.next_cursor ? el('p', { class: 'note' }, '仅显示前200个') : '');
  }

  async function showNotices(report) {
    if (report.notices.length === 0) { nothing('notices', '没有未办结的督办'); return; }
    const names = Object.fromEntries(report.items.map((p) => [p.project_id, p.name]));
    for (const id of new Set(report.notices.map((n) => n.project_id))) {
      if (names[id]) continue;
      const res = await get('/projects/' + encodeURIComponent(id));
      names[id] = res.status === 200 ? res.body.name : id;
    }
    fill('notices', table(['园区', '项目', '督办事项', '办理期限', '状态'], report.notices.map((n) => [
      parkName(n.park_code), names[n.project_id], n.text, n.due_on,
      el('span', { class: n.overdue ? 'overdue' : '' }, n.overdue ? '已逾期' : '办理中'),
    ])));
  }

  async function showChanges() {
    const since = new Date(Date.now() - 7 * 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    let events = [];
    let page = await must('/changes?limit=200&since=' + encodeURIComponent(since));
    events = events.concat(page.items);
    // The feed is oldest first; a busy week is read up to 2,000 events.
    for (let pages = 1; page.more && pages < 10; pages += 1) {
      page = await must('/changes?limit=200&cursor=' + encodeURIComponent(page.next_cursor));
      events = events.concat(page.items);
    }
    if (events.length === 0) { nothing('changes', '近七日没有变更'); return; }
    const newest = events.slice(-30).reverse();
    const fields = (e) => e.changes.length > 6
      ? e.changes.slice(0, 6).map((c) => c.field).join('、') + ` 等${e.changes.length}项`
      : e.changes.map((c) => c.field).join('、');
    fill('changes', el('p', { class: 'note' }, `共 ${events.length}${page.more ? '+' : ''} 条，显示最近 ${newest.length} 条`),
      table(['时间', '园区', '类别', '操作', '操作人', '变更字段'], newest.map((e) => [
        when(e.at), parkName(e.park_code), LIBRARIES[e.library] || e.library, ACTIONS[e.action] || e.action, e.actor,
        fields(e),
      ])));
  }

  // ---- the whole board ------------------------------------------------------------

  async function board() {
    $('sign-in').hidden = true;
    $('board').hidden = false;
    $('who').hidden = false;
    document.body.dataset.ready = 'false';
    charts.forEach((c) => c.dispose());
    charts = [];
    const [me, parks, enums] = await Promise.all([must('/me'), must('/parks'), must('/meta/enums')]);
    labels = {
      parks: Object.fromEntries(parks.map((p) => [p.code, p.name])),
      stages: Object.fromEntries((enums.project_stage || []).map((l) => [l.value, l.zh])),
      roles: Object.fromEntries((enums.role || []).map((l) => [l.value, l.zh])),
    };
    $('who-name').textContent = `${me.username}（${labels.roles[me.role] || me.role}${me.park_code ? ' · ' + parkName(me.park_code) : ''}）`;
    const panels = [
      must('/targets').then((report) => { showTargets(report); showParks(report); })
        .catch((e) => { failed('targets', e); failed('by-park', e); throw e; }),
      get('/stats/funnel?cohort=year').then(showFunnel).catch((e) => { failed('funnel', e); throw e; }),
      must('/monitoring?light=red&limit=200').then(async (report) => { showRed(report); await showNotices(report); })
        .catch((e) => { failed('red-list', e); failed('notices', e); throw e; }),
      showChanges().catch((e) => { failed('changes', e); throw e; }),
    ];
    const outcomes = await Promise.allSettled(panels);
    if (outcomes.some((o) => o.status === 'rejected' && o.reason instanceof SignedOut)) { signIn('登录已过期，请重新登录'); return; }
    // The browser test waits for this before it reads the figures.
    document.body.dataset.ready = outcomes.every((o) => o.status === 'fulfilled') ? 'true' : 'partial';
  }

  function signIn(message) {
    $('board').hidden = true;
    $('who').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').textContent = message || '';
    $('username').focus();
  }

  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('sign-in-error').textContent = '';
    const res = await post('/auth/login', { username: $('username').value, password: $('password').value });
    if (res.status !== 200) {
      $('sign-in-error').textContent = res.status === 401 ? '用户名或密码错误' : problem(res);
      return;
    }
    keep(res.body);
    $('password').value = '';
    board().catch((e) => (e instanceof SignedOut ? signIn() : signIn('加载失败：' + e.message)));
  });

  $('sign-out').addEventListener('click', async () => {
    const current = session();
    sessionStorage.removeItem(SESSION_KEY);
    if (current) {
      await fetch(API + '/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + current.access } }).catch(() => null);
    }
    signIn();
  });

  window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

  if (session()) board().catch((e) => (e instanceof SignedOut ? signIn() : signIn('加载失败：' + e.message)));
  else signIn();
})();
