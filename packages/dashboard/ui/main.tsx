/** The dashboard's entry point: esbuild bundles it (and its CSS) into app.js and app.css. */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { App } from './app.js';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
