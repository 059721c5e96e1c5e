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
