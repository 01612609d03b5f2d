// Starts webtorrent's bittorrent-tracker (npm, pinned in package-lock.json) on loopback only, for
// tests/interop_webtorrent.rs. Every socket binds port 0; the chosen ports are printed as one JSON
// line on stdout once all are listening. The test stops the process by its id.
// `node server.mjs --tls CERT KEY` also serves the tracker over HTTPS (Node's `https`) on 127.0.0.1
// with that certificate chain and key (PEM files), and prints its port as `https`.
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import Server from 'bittorrent-tracker/server'

const server = new Server({ udp: true, http: true, ws: false, stats: false })
server.on('error', (err) => { console.error(`tracker error: ${err.message}`); process.exit(1) })
server.on('warning', (err) => { console.error(`tracker warning: ${err.message}`) })

// The package's HTTP server binds one address; a second one on ::1 serves the same swarms.
const http6 = http.createServer((req, res) => server.onHttpRequest(req, res))
http6.on('error', (err) => { console.error(`http6 error: ${err.message}`); process.exit(1) })

const tls = process.argv.indexOf('--tls')
const secure = tls < 0
  ? null
  : https.createServer(
    { cert: fs.readFileSync(process.argv[tls + 1]), key: fs.readFileSync(process.argv[tls + 2]) },
    (req, res) => server.onHttpRequest(req, res))
secure?.on('error', (err) => { console.error(`https error: ${err.message}`); process.exit(1) })

server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => {
  http6.listen(0, '::1', () => {
    const ports = {
      http: server.http.address().port,
      http6: http6.address().port,
      udp: server.udp4.address().port,
      udp6: server.udp6.address().port
    }
    if (!secure) return console.log(JSON.stringify(ports))
    secure.listen(0, '127.0.0.1', () => {
      ports.https = secure.address().port
      console.log(JSON.stringify(ports))
    })
  })
})
