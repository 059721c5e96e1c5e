// chart.js - a tiny inline-SVG chart: bars of requests per day and a line
// of the p95 (or average) response time, each scaled to its own maximum.
const NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs) {
	const n = document.createElementNS(NS, tag);
	for (const [k, v] of Object.entries(attrs))
		n.setAttribute(k, v);
	return n;
}

// points: [{label, requests, ms}] in time order.
export function sparkline(points, w = 100, h = 32) {
	const svg = svgEl('svg', { class: 'spark', width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img' });
	const maxReq = Math.max(1, ...points.map((p) => p.requests));
	const maxMs = Math.max(1, ...points.map((p) => p.ms || 0));
	const bw = w / Math.max(points.length, 1);
	const total = points.reduce((a, p) => a + p.requests, 0);
	const title = svgEl('title', {});
	title.textContent = total + ' requests in ' + points.length + ' days; highest p95 ' +
	    Math.round(maxMs) + ' ms';
	svg.setAttribute('aria-label', title.textContent);
	svg.append(title);
	svg.append(svgEl('line', { class: 'base', x1: 0, x2: w, y1: h - 0.5, y2: h - 0.5 }));
	const line = [];
	points.forEach((p, i) => {
		const bh = (p.requests / maxReq) * (h - 4);
		if (p.requests > 0)
			svg.append(svgEl('rect', { class: 'req', x: (i * bw + 1).toFixed(1), y: (h - bh).toFixed(1),
			    width: Math.max(bw - 2, 1).toFixed(1), height: bh.toFixed(1), rx: 1 }));
		line.push(((i + 0.5) * bw).toFixed(1) + ',' + (h - 2 - ((p.ms || 0) / maxMs) * (h - 6)).toFixed(1));
	});
	if (points.length > 1 && total > 0)
		svg.append(svgEl('polyline', { class: 'p95', points: line.join(' ') }));
	return svg;
}

// A bar chart with axes and labels: photos per period, successes and
// failures stacked.  points: [{label, tick, ok, failed}]; tick: the short
// label under the x axis (shown every few bars so they never overlap).
export function barChart(points, { title, w = 760, h = 280 } = {}) {
	const m = { l: 48, r: 12, t: 16, b: 44 };
	const iw = w - m.l - m.r, ih = h - m.t - m.b;
	const max = Math.max(1, ...points.map((p) => p.ok + p.failed));
	// A round axis maximum: 1, 2 or 5 times a power of ten.
	const mag = 10 ** Math.floor(Math.log10(max));
	const top = [1, 2, 5, 10].map((k) => k * mag).find((v) => v >= max);
	const svg = svgEl('svg', { class: 'chart', viewBox: `0 0 ${w} ${h}`, role: 'img',
	    preserveAspectRatio: 'xMidYMid meet' });
	const total = points.reduce((a, p) => a + p.ok + p.failed, 0);
	const failed = points.reduce((a, p) => a + p.failed, 0);
	const t = svgEl('title', {});
	t.textContent = title + ': ' + total + ' photos, ' + failed + ' failed, in ' + points.length + ' periods';
	svg.append(t);
	svg.setAttribute('aria-label', t.textContent);
	const y = (v) => m.t + ih - (v / top) * ih;
	for (const v of [0, top / 2, top]) {
		svg.append(svgEl('line', { class: 'grid', x1: m.l, x2: w - m.r, y1: y(v), y2: y(v) }));
		const lab = svgEl('text', { class: 'axis', x: m.l - 8, y: y(v) + 4, 'text-anchor': 'end' });
		lab.textContent = String(Math.round(v * 10) / 10);
		svg.append(lab);
	}
	const bw = iw / Math.max(points.length, 1);
	const every = Math.max(1, Math.ceil(points.length / 12));
	points.forEach((p, i) => {
		const x = m.l + i * bw;
		const okH = (p.ok / top) * ih, badH = (p.failed / top) * ih;
		if (p.ok > 0)
			svg.append(svgEl('rect', { class: 'ok-bar', x: (x + 1).toFixed(1), y: (m.t + ih - okH).toFixed(1),
			    width: Math.max(bw - 2, 1).toFixed(1), height: okH.toFixed(1) }));
		if (p.failed > 0)
			svg.append(svgEl('rect', { class: 'bad-bar', x: (x + 1).toFixed(1), y: (m.t + ih - okH - badH).toFixed(1),
			    width: Math.max(bw - 2, 1).toFixed(1), height: badH.toFixed(1) }));
		if (i % every === 0) {
			const lab = svgEl('text', { class: 'axis', x: (x + bw / 2).toFixed(1), y: h - m.b + 18, 'text-anchor': 'middle' });
			lab.textContent = p.tick;
			svg.append(lab);
		}
	});
	svg.append(svgEl('line', { class: 'axis-line', x1: m.l, x2: w - m.r, y1: m.t + ih, y2: m.t + ih }));
	svg.append(svgEl('line', { class: 'axis-line', x1: m.l, x2: m.l, y1: m.t, y2: m.t + ih }));
	const yl = svgEl('text', { class: 'axis', x: 12, y: m.t + ih / 2, transform: `rotate(-90 12 ${m.t + ih / 2})`, 'text-anchor': 'middle' });
	yl.textContent = 'photos';
	svg.append(yl);
	return svg;
}
