// schema-form.js - form fields generated from an operation's
// settings_schema (the JSON-Schema subset of SPEC.md §3): text or textarea
// for strings, a select for enums, a slider with its number box for
// bounded numbers, a checkbox for booleans, a fieldset for nested objects.
// Fields named *_media_id are images: the caller supplies their widget
// (mediaField).  Each field is labelled with its schema `title` (else a
// humanised name) and shows its `description` as help; enum options show
// `x-enum-titles` (same order as `enum`) instead of the raw values.
//
// What the form sends is what the operator set plus the schema's defaults,
// nothing else (issue 12: a number without a default once fell back to
// the schema minimum and every booth photo came back 64 px):
//   - a value the slot already had is sent back exactly as read until the
//     operator changes that field;
//   - a field without a value shows its default and sends it; with no
//     default it stays unset (empty, saying what unset means) and is left
//     out of the settings;
//   - a nested object (output, fallback_local) is sent only when the slot
//     had it, it is required, or the operator changed something in it,
//     like the server, which fills defaults only into objects present.
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

// What an unset optional field means, said in its empty box.
const UNSET = {
	max_side_px: 'original size',
	seed: 'random (provider default)',
	negative_prompt: 'none',
	prompt: 'the operation\'s built-in prompt',
	output: 'JPEG at the original size',
	fallback_local: 'no local fallback',
};

export function humanize(name) {
	if (LABELS[name])
		return LABELS[name];
	const s = name.replace(/_/g, ' ');
	return s.charAt(0).toUpperCase() + s.slice(1);
}

export const unsetMeaning = (name) => UNSET[name] || 'provider default';

// The label of a property: its title, else a humanised name.
export const titleOf = (name, prop) => (prop && typeof prop.title === 'string' && prop.title) || humanize(name);

// The readable label of an enum value.
export function enumTitle(prop, value) {
	const titles = prop['x-enum-titles'];
	const i = prop.enum.indexOf(value);
	return Array.isArray(titles) && typeof titles[i] === 'string' ? titles[i] : String(value);
}

// The description under a field (id: the field's id), or ''.
function helpText(id, prop) {
	return prop.description ? el('p', { class: 'hint field-help', id: id + '-help', text: prop.description }) : '';
}

// aria-describedby of a control: its help and what its empty value means.
function describedBy(...ids) {
	const s = ids.filter(Boolean).join(' ');
	return s || undefined;
}

export const isMedia = (name, prop) => prop.type === 'string' && /_media_id$/.test(name);

function fieldLabel(id, name, prop, required) {
	return el('label', { for: id }, titleOf(name, prop),
	    required ? el('span', { class: 'hint', text: ' (required)' }) : '');
}

// Keeps an initial value exact until the widget is touched.
function tracked(initial, current) {
	let touched = false;
	return {
		touch: () => { touched = true; },
		read: () => (!touched && initial !== undefined ? initial : current()),
	};
}

// A number: its number box is the value (empty = unset); a bounded one
// also gets a slider kept in step with the box.
function numberField(id, name, prop, initial, required) {
	const int = prop.type === 'integer';
	const bounded = prop.minimum !== undefined && prop.maximum !== undefined;
	const start = initial ?? prop.default;
	const box = el('input', { type: 'number', id, 'data-key': name, min: prop.minimum,
	    max: prop.maximum, step: int ? 1 : 'any', inputmode: int ? 'numeric' : 'decimal',
	    class: 'num-box', placeholder: start === undefined ? 'not set' : '',
	    'aria-describedby': describedBy(prop.description && id + '-help',
		prop.default === undefined && !required && id + '-unset') });
	box.value = start === undefined ? '' : String(start);
	const t = tracked(initial, () => (box.value === '' ? undefined : Number(box.value)));
	const parts = [];
	let range = null;
	if (bounded) {
		const step = int ? 1 : Math.max((prop.maximum - prop.minimum) / 100, 0.01);
		range = el('input', { type: 'range', id: id + '-range', min: prop.minimum, max: prop.maximum,
		    step, 'aria-label': titleOf(name, prop) + ' slider', 'data-slider-for': name });
		parts.push(range);
	}
	const sync = () => {
		if (!range)
			return;
		const unset = box.value === '';
		range.value = unset ? String(prop.default ?? prop.minimum) : box.value;
		range.classList.toggle('unset', unset);
		range.setAttribute('aria-valuetext', unset ? 'not set: ' + unsetMeaning(name) : box.value);
	};
	sync();
	if (range)
		range.addEventListener('input', () => {
			t.touch();
			box.value = range.value;
			sync();
			box.dispatchEvent(new Event('change', { bubbles: true }));
		});
	box.addEventListener('input', () => { t.touch(); sync(); });
	parts.push(box);
	if (prop.default === undefined && !required)
		parts.push(el('button', { type: 'button', class: 'btn small clear-num', text: 'Clear',
		    'aria-label': 'Clear ' + titleOf(name, prop) + ' (' + unsetMeaning(name) + ')',
		    onclick: () => {
			t.touch();
			box.value = '';
			sync();
			box.dispatchEvent(new Event('input', { bubbles: true }));
		    } }));
	const hint = prop.default === undefined && !required ? el('p', { class: 'hint unset-hint',
	    id: id + '-unset', text: 'Empty: ' + unsetMeaning(name) }) : '';
	return { node: el('div', { 'data-field': name }, fieldLabel(id, name, prop, required),
	    el('div', { class: 'range-row' }, parts), hint, helpText(id, prop)), read: t.read, focus: box };
}

// A select; restrict(allowed) keeps only the values in allowed (null: all)
// and clears a value no longer offered, returning it (else undefined).
function enumField(id, name, prop, initial, required) {
	const start = initial ?? prop.default;
	// An enum with "" (the model's choice) has its own empty option.
	const unsetOpt = start === undefined && !prop.enum.includes('') ?
	    el('option', { value: '', text: required ? '— choose —' : '— not set: ' + unsetMeaning(name) + ' —' }) : null;
	const input = el('select', { id, 'data-key': name, required,
	    'aria-describedby': describedBy(prop.description && id + '-help') });
	const t = tracked(initial, () => (input.value === '' ? undefined :
	    prop.enum.find((o) => String(o) === input.value)));
	const fill = (allowed) => {
		const keep = prop.enum.filter((o) => o === '' || !allowed || allowed.includes(o));
		input.replaceChildren(...(unsetOpt ? [unsetOpt] : []),
		    ...keep.map((o) => el('option', { value: String(o), text: enumTitle(prop, o) })));
	};
	fill(null);
	input.value = start === undefined ? '' : String(start);
	input.addEventListener('change', t.touch);
	const restrict = (allowed) => {
		const before = input.value;
		fill(allowed);
		input.value = before;
		if (input.value === before)
			return undefined;
		t.touch();
		input.value = '';
		return prop.enum.find((o) => String(o) === before);
	};
	return { node: el('div', { 'data-field': name }, fieldLabel(id, name, prop, required), input,
	    helpText(id, prop)), read: t.read, focus: input, input, restrict };
}

function stringField(id, name, prop, initial, required) {
	let input;
	const start = initial ?? prop.default ?? '';
	if (name === 'prompt' || (prop.maxLength || 0) > 200)
		input = el('textarea', { id, 'data-key': name, required, maxlength: prop.maxLength, rows: 4,
		    'aria-describedby': describedBy(prop.description && id + '-help'),
		    placeholder: name === 'prompt' ? 'Describe what the AI should do with the photo' :
			(required ? '' : 'not set: ' + unsetMeaning(name)) });
	else
		input = el('input', { type: 'text', id, 'data-key': name, required, maxlength: prop.maxLength,
		    'aria-describedby': describedBy(prop.description && id + '-help'),
		    placeholder: required ? '' : 'not set: ' + unsetMeaning(name) });
	input.value = String(start);
	// Empty optional strings are left out rather than sent as "".
	const t = tracked(initial, () => (input.value === '' && !required ? undefined : input.value));
	input.addEventListener('input', t.touch);
	return { node: el('div', { 'data-field': name }, fieldLabel(id, name, prop, required), input,
	    helpText(id, prop)), read: t.read, focus: input };
}

function booleanField(id, name, prop, initial) {
	const box = el('input', { type: 'checkbox', id, 'data-key': name,
	    'aria-describedby': describedBy(prop.description && id + '-help') });
	box.checked = Boolean(initial ?? prop.default ?? false);
	// No default and never set: unset until the operator ticks it.
	const t = tracked(initial, () => (initial === undefined && prop.default === undefined &&
	    !box.dataset.touched ? undefined : box.checked));
	box.addEventListener('change', () => { box.dataset.touched = '1'; t.touch(); });
	return { node: el('div', { 'data-field': name }, el('label', { class: 'check', for: id }, box, titleOf(name, prop)),
	    helpText(id, prop)), read: t.read, focus: box };
}

function objectField(id, name, prop, initial, required, mediaField) {
	const sub = buildForm(prop, initial || {}, mediaField, id);
	let touched = false;
	const node = el('fieldset', { 'data-key': name, 'data-field': name }, el('legend', { text: titleOf(name, prop) }),
	    prop.description ? el('p', { class: 'hint field-help', text: prop.description }) : '',
	    initial === undefined && !required ?
		el('p', { class: 'hint', text: 'Not set: ' + unsetMeaning(name) + '. Change a field to set it.' }) : '',
	    sub.node);
	node.addEventListener('input', () => { touched = true; });
	node.addEventListener('change', () => { touched = true; });
	return {
		node, focus: null, fields: sub.fields,
		read: () => (initial !== undefined || required || touched ? sub.read() : undefined),
	};
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
		const required = req.has(name);
		let w;
		if (isMedia(name, prop)) {
			w = mediaField(name, titleOf(name, prop), required, value, prop.description);
		} else if (prop.type === 'object') {
			w = objectField(id, name, prop, value, required, mediaField);
			for (const [k, f] of Object.entries(w.fields))
				fields[name + '.' + k] = f;
		} else if (prop.type === 'number' || prop.type === 'integer') {
			w = numberField(id, name, prop, value, required);
		} else if (prop.type === 'boolean') {
			w = booleanField(id, name, prop, value);
		} else if (prop.enum) {
			w = enumField(id, name, prop, value, required);
		} else {
			w = stringField(id, name, prop, value, required);
		}
		fields[name] = w;
		parts.push(w.node);
		readers.push([name, w]);
	}
	const read = () => {
		const out = {};
		for (const [name, w] of readers) {
			const v = w.read();
			if (v !== undefined && v !== null)
				out[name] = v;
		}
		return out;
	};
	return { node: el('div', { class: 'stack' }, parts), read, fields };
}

// Whether value fits prop (type, enum, bounds): kept across an operation switch.
function fits(value, prop) {
	if (prop.enum)
		return prop.enum.includes(value);
	switch (prop.type) {
	case 'string': return typeof value === 'string' && (prop.maxLength === undefined || value.length <= prop.maxLength);
	case 'boolean': return typeof value === 'boolean';
	case 'object': return value !== null && typeof value === 'object' && !Array.isArray(value);
	case 'integer':
	case 'number':
		return typeof value === 'number' && (prop.type === 'number' || Number.isInteger(value)) &&
		    (prop.minimum === undefined || value >= prop.minimum) &&
		    (prop.maximum === undefined || value <= prop.maximum);
	default: return false;
	}
}

// Splits values (read from a form of schema `from`) into what the schema
// `to` shares and keeps, and the names of what it would drop; a dropped
// value equal to its default is no loss and is not named.
export function carryOver(values, from, to, prefix = '') {
	const kept = {};
	const dropped = [];
	const fp = (from && from.properties) || {};
	const tp = (to && to.properties) || {};
	for (const [name, v] of Object.entries(values || {})) {
		const p = tp[name];
		if (p && p.type === 'object' && fits(v, p)) {
			const sub = carryOver(v, fp[name], p, prefix + name + '.');
			kept[name] = sub.kept;
			dropped.push(...sub.dropped);
		} else if (p && fits(v, p)) {
			kept[name] = v;
		} else if (!fp[name] || JSON.stringify(fp[name].default) !== JSON.stringify(v)) {
			dropped.push(prefix + name);
		}
	}
	return { kept, dropped };
}
