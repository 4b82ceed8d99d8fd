<?php
// GET /php/checkout/<32 hex key>-<16 hex MAC>: Cross's checkout page, in plain PHP. Checks the link's MAC,
// reads and decodes the order file, and renders the same page with the same hidden fields as Cross, every
// value through htmlspecialchars. Reuses the order's session id while more than 30 s remain, else asks the
// gateway for a new one and records the attempt durably (as Cross does).
declare(strict_types=1);
require __DIR__ . '/lib.php';

$path = parse_url($_SERVER['REQUEST_URI'] ?? '', PHP_URL_PATH) ?: '';
$token = substr($path, strrpos($path, '/') + 1);
if (!preg_match('/^([0-9a-f]{32})-([0-9a-f]{16})$/D', $token, $parts)
    || !hash_equals(substr(hash_hmac('sha256', $parts[1], setting('BENCH_LINK_SECRET')), 0, 16), $parts[2])) {
    answer(404, 'text/html', '<!doctype html><title>' . h(WORDS['fr']['not_found']) . '</title><h1>' . h(WORDS['fr']['not_found']) . '</h1>');
}
$key = $parts[1];
$order = load_order($key);
if ($order === null) {
    answer(404, 'text/html', '<!doctype html><title>' . h(WORDS['fr']['not_found']) . '</title><h1>' . h(WORDS['fr']['not_found']) . '</h1>');
}
$words = WORDS[$order['language']] ?? WORDS['fr'];
if ($order['status'] === 'paid' || $order['status'] === 'review') {
    answer(200, 'text/html', '<!doctype html><title>' . h($words['paid']) . '</title><h1>' . h($words['paid']) . '</h1>');
}

$now = time();
$last = end($order['attempts']);
if ($order['status'] === 'pending' && $last !== false && iso_seconds($last['expires_at']) - $now > 30) {
    $session = $last['reference'];
} else {
    // No reusable session id: ask the gateway (outside the lock), then record the attempt under it.
    $context = stream_context_create(['http' => ['timeout' => 10]]);
    $body = @file_get_contents(setting('BENCH_GATEWAY_URL') . '/online/online.php?merchantid=' . setting('BENCH_MERCHANT_ID'), false, $context);
    if ($body === false || !preg_match('/^OK:([0-9]{32})$/', trim($body), $answer)) {
        answer(503, 'text/html', '<!doctype html><title>' . h($words['unavailable']) . '</title><h1>' . h($words['unavailable']) . '</h1>');
    }
    $updated = update_order($key, function (array &$current) use ($answer, $now) {
        $current['attempts'][] = ['expires_at' => now_iso($now + 180), 'issued_at' => now_iso($now), 'method' => 'redirect', 'operator' => 'tmoney', 'reference' => $answer[1]];
        $current['status'] = 'pending';
        $current['updated_at'] = now_iso($now);
        $current['revision']++;
        return [['at' => now_iso($now), 'kind' => 'attempt.started', 'from' => 'pending', 'to' => 'pending'], $answer[1]];
    });
    if ($updated === null) {
        answer(404, 'text/html', '<!doctype html><h1>' . h($words['not_found']) . '</h1>');
    }
    [$order, $session] = $updated;
}

$public = setting('BENCH_PUBLIC_URL') . '/return/';
$fields = [
    'sessionid' => $session,
    'merchantid' => setting('BENCH_MERCHANT_ID'),
    'amount' => (string)$order['amount'],
    'currency' => $order['currency'],
    'purchaseref' => $order['purchaseref'],
];
$details = $order['details'];
if (isset($details['phone'])) {
    $fields['phonenumber'] = $details['phone'];
}
$fields['brand'] = $order['brand'];
if (isset($details['description'])) {
    $fields['description'] = $details['description'];
}
$fields['accepturl'] = $public . 'accept?order=' . $token;
$fields['declineurl'] = $public . 'decline?order=' . $token;
$fields['cancelurl'] = $public . 'cancel?order=' . $token;
if (isset($details['text'])) {
    $fields['text'] = $details['text'];
}
$fields['language'] = $order['language'];

$inputs = '';
foreach ($fields as $name => $value) {
    $inputs .= '<input type="hidden" name="' . h($name) . '" value="' . h($value) . "\">\n";
}
$description = isset($details['description']) && $details['description'] !== ''
    ? '<dt>' . h($words['description']) . '</dt><dd>' . h($details['description']) . "</dd>\n" : '';

answer(200, 'text/html', '<!doctype html>
<html lang="' . h($order['language']) . '">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>' . h($words['checkout_title'] . ' · ' . $order['brand']) . '</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<main class="card">
<h1>' . h($words['checkout_title']) . '</h1>
<dl class="summary">
<dt>' . h($words['merchant']) . '</dt><dd>' . h($order['brand']) . '</dd>
' . $description . '<dt>' . h($words['amount']) . '</dt><dd class="amount">' . h(format_amount($order['amount'])) . '</dd>
<dt>' . h($words['order_ref']) . '</dt><dd>' . h($order['purchaseref']) . '</dd>
</dl>
<form id="pay" method="post" action="' . h(setting('BENCH_GATEWAY_URL') . '/online/online.php') . '">
' . $inputs . '<button type="submit">' . h($words['pay_button']) . '</button>
</form>
<p class="muted">' . h($words['pay_hint']) . '</p>
</main>
<footer>Cross · TMoney Online</footer>
</body>
</html>
');
