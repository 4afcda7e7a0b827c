// Table bodies from the gateway's answers. Every value is set as text, never as markup: page URLs and user ids are
// whatever clients posted.

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const number = new Intl.NumberFormat();
export const formatCount = (n) => number.format(n);

// Replaces the rows of `tbody`, one per item; `columns` turn an item into cells. A count that changed since the last
// rendering of the same key flashes, so live updates can be seen.
export function renderRows(tbody, items, keyOf, columns) {
  const before = new Map([...tbody.rows].map((row) => [row.dataset.key, row.dataset.value]));
  tbody.replaceChildren();
  items.forEach((item, index) => {
    const row = tbody.insertRow();
    row.dataset.key = keyOf(item);
    row.dataset.value = String(item.clicks ?? '');
    for (const column of columns) {
      const td = column(row, item, index);
      if (td && column.counts && before.has(row.dataset.key) && before.get(row.dataset.key) !== row.dataset.value) {
        td.classList.add('changed');
      }
    }
  });
  if (items.length === 0) {
    const row = tbody.insertRow();
    const td = cell(row, 'Nothing counted yet', 'empty');
    td.colSpan = tbody.parentElement.tHead.rows[0].cells.length;
  }
}

export const rank = (row, item, index) => cell(row, String(index + 1), 'rank');
export const text = (field) => (row, item) => cell(row, item[field], 'text');
export const count = (field) => Object.assign((row, item) => cell(row, item[field] === undefined ? '' : formatCount(item[field]), 'count'), { counts: true });
export const action = (label, onClick) => (row, item) => {
  const td = row.insertCell();
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.addEventListener('click', () => onClick(item));
  td.append(button);
  return td;
};
