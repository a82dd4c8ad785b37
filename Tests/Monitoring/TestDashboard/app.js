// Served by the monitor server tests as /assets/app.js (embedded in the test assembly).
document.title = "test dashboard";
