// schema-form.js - form fields generated from an operation's
// settings_schema (the JSON-Schema subset of SPEC.md §3): text or textarea
// for strings, a select for enums, a slider for bounded numbers, a checkbox
// for booleans, a fieldset for nested objects.  Fields named *_media_id
// are images: the caller supplies their widget (mediaField).
import { el } from './ui.js';

const LABELS = {
	prompt: 'Prompt',
	reference_media_id: 'Style reference image',
	base_media_id: 'Base image (template)',
	overlay_media_id: 'Overlay image',
	style_strength: 'Style strength',
	blend_mode: 'Blend mode',
	max_side_px: 'Longest side (px)',
};

export function humanize(name) {
	if (LABELS[name])
		return LABELS[name];
	const s = name.replace(/_/g, ' ');
	return s.charAt(0).toUpperCase() + s.slice(1);
}

export const isMedia = (name, prop) => prop.type === 'string' && /_media_id$/.test(name);

function numberField(id, name, prop, value, required) {
	const int = prop.type === 'integer';
	const v = value ?? prop.default ?? prop.minimum;
	const step = int ? 1 : Math.max((prop.maximum - prop.minimum) / 100, 0.01);
	const out = el('output', { for: id, text: String(v) });
	const range = el('input', { type: 'range', id, min: prop.minimum, max: prop.maximum,
	    step, value: v, 'data-key': name, required, 'aria-describedby': id + '-out' });
	out.id = id + '-out';
	range.addEventListener('input', () => { out.textContent = range.value; });
	return { node: el('div', {}, el('label', { for: id, text: humanize(name) }),
	    el('div', { class: 'range-row' }, range, out)),
	    read: () => (int ? parseInt(range.value, 10) : parseFloat(range.value)), focus: range };
}

function stringField(id, name, prop, value, required) {
	let input;
	if (prop.enum) {
		input = el('select', { id, 'data-key': name, required },
		    prop.enum.map((o) => el('option', { value: o, text: o })));
		input.value = value ?? prop.default ?? prop.enum[0];
	} else if (name === 'prompt' || (prop.maxLength || 0) > 200) {
		input = el('textarea', { id, 'data-key': name, required, maxlength: prop.maxLength,
		    rows: 4, placeholder: name === 'prompt' ? 'Describe what the AI should do with the photo' : '' });
		input.value = value ?? prop.default ?? '';
	} else {
		input = el('input', { type: 'text', id, 'data-key': name, required, maxlength: prop.maxLength });
		input.value = value ?? prop.default ?? '';
	}
	const label = el('label', { for: id }, humanize(name), required ? el('span', { class: 'hint', text: ' (required)' }) : '');
	return { node: el('div', {}, label, input), read: () => input.value, focus: input, optional: !required };
}

// Builds the fields of schema (an object schema) with values; path is the
// id prefix.  Returns {node, read(), fields} where fields maps a dotted
// key ("output.format") to its widget, for server-side error marking.
export function buildForm(schema, values, mediaField, path = 'f') {
	const fields = {};
	const parts = [];
	const req = new Set(schema.required || []);
	const readers = [];

	for (const [name, prop] of Object.entries(schema.properties || {})) {
		const id = path + '-' + name;
		const value = values ? values[name] : undefined;
		let w;
		if (isMedia(name, prop)) {
			w = mediaField(name, humanize(name), req.has(name), value);
		} else if (prop.type === 'object') {
			const sub = buildForm(prop, value || {}, mediaField, id);
			for (const [k, f] of Object.entries(sub.fields))
				fields[name + '.' + k] = f;
			w = { node: el('fieldset', {}, el('legend', { text: humanize(name) }), sub.node),
			    read: sub.read, focus: null };
		} else if ((prop.type === 'number' || prop.type === 'integer') &&
		    prop.minimum !== undefined && prop.maximum !== undefined) {
			w = numberField(id, name, prop, value, req.has(name));
		} else if (prop.type === 'number' || prop.type === 'integer') {
			const input = el('input', { type: 'number', id, 'data-key': name, min: prop.minimum,
			    max: prop.maximum, step: prop.type === 'integer' ? 1 : 'any' });
			input.value = value ?? prop.default ?? '';
			w = { node: el('div', {}, el('label', { for: id, text: humanize(name) }), input),
			    read: () => (input.value === '' ? undefined : Number(input.value)), focus: input };
		} else if (prop.type === 'boolean') {
			const box = el('input', { type: 'checkbox', id, 'data-key': name });
			box.checked = value ?? prop.default ?? false;
			w = { node: el('label', { class: 'check', for: id }, box, humanize(name)),
			    read: () => box.checked, focus: box };
		} else {
			w = stringField(id, name, prop, value, req.has(name));
		}
		fields[name] = w;
		parts.push(w.node);
		readers.push([name, w]);
	}
	const read = () => {
		const out = {};
		for (const [name, w] of readers) {
			const v = w.read();
			// Empty optional strings are left out rather than sent as "".
			if (v === undefined || v === null || (v === '' && !req.has(name)))
				continue;
			out[name] = v;
		}
		return out;
	};
	return { node: el('div', { class: 'stack' }, parts), read, fields };
}
