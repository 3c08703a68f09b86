// Prompts waiting for a technician, each with the controls its kind needs (yes/no,
// one button per choice, a number in its unit, text, a photo or file). Cards are kept
// by id across refreshes, so what someone is typing is never wiped by an update.

import { api } from './api.js';
import { duration, h } from './format.js';

const BY_KEY = 'certlab.by';
const cards = new Map();  // prompt id -> {root, left, deadline (performance.now() ms)}
let denied = '';          // the 403 detail once answering was refused: controls stay off

const $ = (id) => document.getElementById(id);

function byName() {
  return $('by').value.trim();
}

function setBusy(card, busy) {
  for (const c of card.querySelectorAll('button, input:not(.comment)')) c.disabled = busy || !!denied;
}

function note(card, text, error) {
  const n = card.querySelector('.note');
  n.textContent = text;
  n.classList.toggle('error', !!error);
}

function hideControls(card) {
  for (const c of card.querySelectorAll('.controls')) c.hidden = true;
  setBusy(card, true);
}

function denyAll(detail) {
  denied = detail;
  const p = $('answer-denied');
  p.hidden = false;
  p.textContent = `This token may look but not answer prompts (operator role needed): ${detail}`;
  for (const { root } of cards.values()) hideControls(root);
}

async function send(prompt, card, body, hooks) {
  setBusy(card, true);
  note(card, 'Sending…');
  const by = byName();
  if (by) body.by = by;
  const comment = card.querySelector('input.comment').value.trim();
  if (comment) body.comment = comment;
  try {
    const answered = await api(`/v1/prompts/${prompt.id}/answer`, { method: 'POST', body });
    note(card, `Answered: ${answered.answer ?? ''}`);
    hooks.answered();
  } catch (e) {
    if (e.status === 403) {
      denyAll(e.message);
      note(card, e.message, true);
      return;
    }
    // 409 (no longer open) or 422 (the answer does not fit): say so, let them retry.
    note(card, e.message, true);
    setBusy(card, false);
  }
}

function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function controlsFor(prompt, card, hooks) {
  const answer = (value) => send(prompt, card, { answer: value }, hooks);
  const button = (label, value, cls) => {
    const b = h('button', { type: 'button', class: cls, 'data-answer': value }, label);
    b.addEventListener('click', () => answer(value));
    return b;
  };
  const withInput = (input, label, toBody) => {
    const go = h('button', { type: 'button', class: 'primary', 'data-answer': 'submit' }, label);
    const submit = async () => {
      const body = await toBody();
      if (body) send(prompt, card, body, hooks);
    };
    go.addEventListener('click', submit);
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') submit();
    });
    return [input, go];
  };
  switch (prompt.kind) {
    case 'confirm':
      return [button('Yes', 'yes', 'yes'), button('No', 'no', 'no')];
    case 'choice':
      return prompt.choices.map((c) => button(c, c, prompt.fail_on.includes(c) ? 'fails' : ''));
    case 'number': {
      const range = [prompt.min, prompt.max].every((v) => v !== null) ? `${prompt.min}–${prompt.max}` : '';
      const input = h('input', { type: 'number', step: 'any', inputmode: 'decimal', 'aria-label': `value in ${prompt.unit || 'units'}` });
      const [i, go] = withInput(input, 'Send', () => {
        if (input.value.trim() === '') return null;
        return { answer: prompt.unit ? `${input.value} ${prompt.unit}` : input.value };
      });
      return [i, h('span', {}, `${prompt.unit}${range ? ` (expected ${range} ${prompt.unit})` : ''}`), go];
    }
    case 'photo': case 'file': {
      const input = h('input', { type: 'file', accept: prompt.kind === 'photo' ? 'image/*' : undefined, 'aria-label': prompt.kind });
      return withInput(input, 'Upload', async () => {
        const file = input.files && input.files[0];
        if (!file) return null;
        return { answer: file.name, attachment: { name: file.name, content_base64: await fileToBase64(file) } };
      });
    }
    default: {  // text, and kinds this page does not know yet
      const input = h('input', { type: 'text', 'aria-label': 'answer' });
      return withInput(input, 'Send', () => (input.value.trim() ? { answer: input.value.trim() } : null));
    }
  }
}

function createCard(prompt, hooks) {
  const left = h('span', { class: 'left num' });
  const root = h('article', { class: 'prompt', id: `prompt-${prompt.id}`, 'data-prompt': prompt.id, 'data-kind': prompt.kind },
    h('div', { class: 'message' }, prompt.message),
    h('div', { class: 'meta' },
      h('span', {}, `Device ${prompt.device}`),
      h('span', {}, h('a', { href: `#run-${prompt.run}` }, `Run #${prompt.run}`), ` · ${prompt.scenario}, step ${prompt.step + 1}`,
        prompt.iteration > 0 ? `, iteration ${prompt.iteration + 1}` : ''),
      h('span', {}, 'Time left: ', left),
      h('span', {}, `If nobody answers: ${prompt.on_timeout}`)),
    h('div', { class: 'controls' }),
    h('div', { class: 'controls' }, h('input', { type: 'text', class: 'comment', placeholder: 'comment (optional)', 'aria-label': 'comment' })),
    h('div', { class: 'note', role: 'status' }));
  root.querySelector('.controls').append(...controlsFor(prompt, root, hooks));
  if (denied) hideControls(root);
  return { root, left, deadline: performance.now() + (prompt.time_left_s ?? 0) * 1000 };
}

/** Shows `prompts` (GET /v1/prompts, newest first), keeping the cards already shown. */
export function renderPrompts(prompts, hooks) {
  const box = $('prompts');
  const open = prompts.filter((p) => p.status === 'open').reverse();  // oldest first: answer in order
  for (const [id, card] of cards) {
    if (!open.some((p) => p.id === id)) {
      card.root.remove();
      cards.delete(id);
    }
  }
  box.querySelector('.empty')?.remove();
  open.forEach((p, i) => {
    let card = cards.get(p.id);
    if (!card) {
      card = createCard(p, hooks);
      cards.set(p.id, card);
    } else {
      card.deadline = performance.now() + (p.time_left_s ?? 0) * 1000;
    }
    // Moved only when out of place: moving a node would take the focus from its input.
    if (box.children[i] !== card.root) box.insertBefore(card.root, box.children[i] || null);
  });
  if (!open.length) box.replaceChildren(h('p', { class: 'empty' }, 'Nothing is waiting for a technician.'));
  const count = $('prompt-count');
  count.textContent = open.length;
  count.classList.toggle('attention', open.length > 0);
  tickPrompts();
}

/** Counts each prompt's time left down (called every second). */
export function tickPrompts() {
  for (const card of cards.values()) {
    const left = Math.max(0, (card.deadline - performance.now()) / 1000);
    card.left.textContent = duration(left);
  }
}

function wireName() {
  const input = $('by');
  input.value = sessionStorage.getItem(BY_KEY) || '';
  input.addEventListener('change', () => sessionStorage.setItem(BY_KEY, input.value.trim()));
}

wireName();
