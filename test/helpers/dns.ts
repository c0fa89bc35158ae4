// DNS over a real UDP socket for tests.
import dgram from 'node:dgram';

/** Sends raw bytes over UDP; resolves with the raw reply, or null when none comes in time. */
export function udpRaw(port: number, msg: Buffer, waitMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, waitMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}
