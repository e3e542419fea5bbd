// Loads the dashboard's wasm; a separate file so the page needs no inline script.
import init from "/dashboard.js";
init({ module_or_path: "/dashboard_bg.wasm" });
