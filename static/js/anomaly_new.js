// The phone's position, when the user allows it, travels with the report.
const where = document.getElementById("where");
if (navigator.geolocation) {
  navigator.geolocation.getCurrentPosition(
    (p) => {
      document.getElementById("latitude").value = p.coords.latitude.toFixed(6);
      document.getElementById("longitude").value = p.coords.longitude.toFixed(6);
      where.textContent = `Location: ${p.coords.latitude.toFixed(5)}, ${p.coords.longitude.toFixed(5)}`;
    },
    () => { where.textContent = "Location: not shared (the asset's location is used)"; },
    { enableHighAccuracy: true, timeout: 10000 }
  );
} else { where.textContent = "Location: not available on this device"; }
