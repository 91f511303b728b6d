// Installs the widget on try-widget.html for the inbox in ?inbox=TOKEN, the
// way the one-line snippet does on a real site.
const inbox = new URLSearchParams(location.search).get('inbox');
if (inbox) {
  const tag = document.createElement('script');
  tag.src = '/widget.js';
  tag.async = true;
  tag.dataset.inbox = inbox;
  document.body.append(tag);
}
