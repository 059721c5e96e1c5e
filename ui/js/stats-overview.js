// stats-overview.js - the Statistics page's "Photos over time": a chart
// of GET /api/stats/overview for a chosen date range (per day or hour),
// errors by kind, the latest failures with their request id and a link
// to the job, and CSV downloads of the series and of the slot table.
import { api, requireLogin } from './api.js';
import { $, el, toastError, fmtDate } from './ui.js';
import { barChart } from './chart.js';

let last = null;
const pad = (n) => String(n).padStart(2, '0');
const ymd = (d) => d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());

// A CSV field: quoted when it holds a comma, quote or line break.
const csvField = (v) => {
	const s = v === null || v === undefined ? '' : String(v);
	return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
};

function saveCsv(name, rows) {
	const text = rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
	const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })), download: name });
	document.body.append(a);
	a.click();
	a.remove();
}

function tick(iso, group) {
	const d = new Date(iso);
	return group === 'hour' ? pad(d.getHours()) + ':00' : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

function kindsTable(kinds) {
	const tb = $('#kinds tbody');
	tb.replaceChildren(...kinds.map((k) => el('tr', {}, el('td', { text: k.kind }),
	    el('td', { class: 'num', text: String(k.count) }), el('td', { text: fmtDate(k.last_at) }))));
	if (!kinds.length)
		tb.append(el('tr', {}, el('td', { colspan: '3', class: 'empty', text: 'No failures in this range.' })));
}

function failsTable(fails) {
	const tb = $('#fails tbody');
	const td = (label, attrs, ...c) => el('td', { 'data-label': label, ...attrs }, ...c);
	tb.replaceChildren(...fails.map((f) => el('tr', {},
	    td('Time', {}, fmtDate(f.at)),
	    td('Slot', {}, f.slot_name || f.slot_id),
	    td('HTTP', { class: 'num' }, f.http_status === null ? '—' : String(f.http_status)),
	    td('Error', { class: 'wide' }, el('strong', { text: f.error_kind }), f.error_message ? ': ' + f.error_message : ''),
	    td('Request id', {}, el('code', { text: f.request_id || '—' })),
	    td('Job', {}, f.job_id ? el('a', { href: 'job.html?id=' + encodeURIComponent(f.job_id), text: 'Open job',
	        'aria-label': 'Open the job of the failure at ' + fmtDate(f.at) }) : '—'))));
	if (!fails.length)
		tb.append(el('tr', {}, el('td', { colspan: '6', class: 'empty', text: 'No failures in this range.' })));
}

async function show(ev) {
	if (ev)
		ev.preventDefault();
	const from = new Date($('#over-from').value + 'T00:00:00');
	const to = new Date($('#over-to').value + 'T00:00:00');
	to.setDate(to.getDate() + 1);
	const group = $('#over-group').value;
	const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), group_by: group });
	try {
		const r = await api('GET', 'stats/overview?' + q);
		last = r;
		const points = r.periods.map((p) => ({ tick: tick(p.period_start, group), ok: p.success,
		    failed: p.errors + p.timeouts }));
		$('#over-chart').replaceChildren(barChart(points, { title: 'Photos per ' + group }));
		const t = r.totals;
		$('#over-totals').textContent = (t.requests || 0) + ' photos received, ' + (t.success || 0) +
		    ' delivered, ' + ((t.errors || 0) + (t.timeouts || 0)) + ' failed.';
		kindsTable(r.errors_by_kind);
		failsTable(r.latest_failures);
	} catch (e) {
		toastError(e, 'Loading the statistics failed');
	}
}

function seriesCsv() {
	if (!last)
		return;
	saveCsv('photobridge-series-' + last.range.group_by + '.csv', [
	    ['period_start', 'period_end', 'requests', 'success', 'errors', 'timeouts', 'avg_response_ms', 'p95_response_ms', 'cost'],
	    ...last.periods.map((p) => [p.period_start, p.period_end, p.requests, p.success, p.errors, p.timeouts,
	        p.avg_response_ms, p.p95_response_ms, p.cost])]);
}

// The slot table as the page shows it, header row included.
function slotsCsv() {
	const head = [...document.querySelectorAll('#stats thead th')].map((th) => th.textContent.trim());
	const rows = [...document.querySelectorAll('#stats tbody tr[data-slot]')].map((tr) =>
	    [tr.dataset.slot, ...[...tr.cells].map((c) => c.textContent.trim())]);
	saveCsv('photobridge-slots.csv', [['slot_id', ...head], ...rows]);
}

if (requireLogin()) {
	const today = new Date();
	const from = new Date(today);
	from.setDate(from.getDate() - 6);
	$('#over-from').value = ymd(from);
	$('#over-to').value = ymd(today);
	$('#over-form').addEventListener('submit', show);
	$('#csv-series').addEventListener('click', seriesCsv);
	$('#csv-slots').addEventListener('click', slotsCsv);
	show();
}
