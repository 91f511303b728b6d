import { mount } from 'svelte';
import App from './App.svelte';
import { locale } from './lib/i18n.svelte';
import './app.css';

document.documentElement.lang = locale();

const target = document.getElementById('app');
if (target) mount(App, { target });
