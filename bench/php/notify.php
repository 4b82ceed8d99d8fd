<?php
// GET /php/notify?purchaseref=…&amount=…&currency=952&status=OK&…: TMoney's notification, in plain PHP, with
// the durable work Cross does: the caller's address checked, every parameter validated as Cross does
// (digits, lengths, OK/NOK rules, no repeated parameter), then under the order's flock: read + json_decode,
// the state change, the new file written beside the old, the journal record appended and fdatasync'ed, the
// rename. Refused calls are journaled (synced) too. "OK" only once the change is durable.
declare(strict_types=1);
require __DIR__ . '/lib.php';

$now = time();
$remote = $_SERVER['REMOTE_ADDR'] ?? '';

// The raw query, so that a repeated parameter is seen ($_GET would keep only the last).
$values = [];
$pairs = [];
$errors = [];
foreach (explode('&', $_SERVER['QUERY_STRING'] ?? '') as $pair) {
    if ($pair === '') {
        continue;
    }
    [$name, $value] = array_map('urldecode', explode('=', $pair, 2) + [1 => '']);
    $pairs[] = [$name, $value];
    if (array_key_exists($name, $values)) {
        $errors[$name] = 'is given more than once';
    } else {
        $values[$name] = $value;
    }
}

function refuse(int $status, string $reason, string $remote, array $pairs, int $now): never
{
    $parameters = [];
    foreach (array_slice($pairs, 0, 32) as [$name, $value]) {
        $parameters[] = [substr($name, 0, 64), substr($value, 0, 512)];
    }
    journal(['at' => now_iso($now), 'kind' => 'notification.refused', 'remote' => $remote, 'answer' => $status,
        'reason' => $reason, 'parameters' => $parameters]);
    answer($status, 'text/plain', $reason . "\n");
}

$allowlist = explode(',', setting('BENCH_NOTIFY_ALLOWLIST'));
if (!in_array($remote, $allowlist, true)) {
    refuse(403, "source address $remote is not in the allowlist", $remote, $pairs, $now);
}

$required = function (string $name) use (&$values, &$errors): ?string {
    if (!isset($values[$name]) || $values[$name] === '') {
        $errors[$name] ??= 'is required';
        return null;
    }
    return $values[$name];
};
$optional = function (string $name, int $max, string $rule, callable $valid) use (&$values, &$errors): string {
    $value = $values[$name] ?? '';
    if ($value !== '') {
        $length = code_points($value);
        if ($length < 0 || $length > $max || has_control($value) || !$valid($value)) {
            $errors[$name] ??= $rule;
        }
    }
    return $value;
};
$any = fn (string $v): bool => true;

$ref = $required('purchaseref');
if ($ref !== null) {
    $length = code_points($ref);
    if ($length < 1 || $length > 250 || has_control($ref)) {
        $errors['purchaseref'] ??= 'must be 1 to 250 characters, with no control character';
    }
}
$amountText = $required('amount');
if ($amountText !== null && !(strlen($amountText) <= 10 && is_digits($amountText))) {
    $errors['amount'] ??= 'must be a whole number of francs, up to 10 digits, with no decimal point';
}
$currency = $required('currency');
if ($currency !== null && !(strlen($currency) === 3 && is_digits($currency))) {
    $errors['currency'] ??= 'must be 3 digits';
}
$status = $required('status');
if ($status !== null && $status !== 'OK' && $status !== 'NOK') {
    $errors['status'] ??= 'must be OK or NOK';
}
$clientid = $optional('clientid', 64, 'must be up to 64 characters', $any);
$cname = $optional('cname', 150, 'must be up to 150 characters', $any);
$mobile = $optional('mobile', 15, 'must be a phone number in international format', fn ($v) => strlen($v) >= 8 && is_digits($v));
$paymentref = $optional('paymentref', 64, 'must be up to 64 characters', $any);
$payid = $optional('payid', 64, 'must be up to 64 characters', $any);
$timestamp = $optional('timestamp', 12, 'must be a Unix time in seconds', 'is_digits');
$error = $optional('error', 40, 'must be an error code such as CANCEL', fn ($v) => strspn($v, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_') === strlen($v));
if ($status === 'OK') {
    if ($error !== '') $errors['error'] ??= 'must be empty when status is OK';
    if ($payid === '') $errors['payid'] ??= 'is required when status is OK';
    if ($paymentref === '') $errors['paymentref'] ??= 'is required when status is OK';
} elseif ($status === 'NOK' && $error === '') {
    $errors['error'] ??= 'is required when status is NOK';
}
if ($errors) {
    $reason = implode('; ', array_map(fn ($name, $rule) => "$name: $rule", array_keys($errors), $errors));
    refuse(400, "Bad notification: $reason", $remote, $pairs, $now);
}

$notification = [
    'purchaseref' => $ref, 'amount' => (int)$amountText, 'currency' => $currency, 'status' => $status,
    'clientid' => $clientid, 'cname' => $cname, 'mobile' => $mobile, 'paymentref' => $paymentref, 'payid' => $payid,
    'timestamp' => $timestamp, 'error' => $error,
];
$identity = fn (array $n): string => implode('|', [$n['status'], $n['payid'], $n['error'], $n['payid'] === '' ? $n['paymentref'] . '|' . $n['timestamp'] : '']);

$outcomes = ['CANCEL' => 'cancelled', 'EXPIRED_SESSION' => 'expired'];
$updated = update_order(order_key($ref), function (array &$order) use ($notification, $identity, $outcomes, $now, $remote) {
    if ($order['purchaseref'] !== $notification['purchaseref']) {
        return [null, null];
    }
    $record = ['at' => now_iso($now), 'kind' => 'notification.applied', 'answer' => 200, 'remote' => $remote,
        'notification' => $notification];
    $id = $identity($notification);
    foreach ($order['notifications'] as $seen) {
        if ($identity($seen['notification']) === $id) {
            $record['kind'] = 'notification.duplicate';
            $record['key'] = $order['key'];
            $record['ref'] = $order['purchaseref'];
            return [$record, 'duplicate'];
        }
    }
    $from = $order['status'];
    $to = $from;
    $note = null;
    $review = null;
    if ($notification['amount'] !== $order['amount'] || $notification['currency'] !== $order['currency']) {
        $review = "{$notification['status']} notification for {$notification['amount']} {$notification['currency']} on an order of {$order['amount']} {$order['currency']}";
    } elseif ($from === 'review') {
        $note = 'recorded: the order is in review';
    } elseif ($from === 'paid') {
        if ($notification['status'] === 'OK' && $notification['payid'] !== ($order['payment']['payid'] ?? null)) {
            $review = 'paid twice: payid ' . ($order['payment']['payid'] ?? '?') . ' then ' . $notification['payid'];
        } elseif ($notification['status'] === 'NOK') {
            $note = 'recorded: the order is already paid';
        }
    } else {
        $to = $notification['status'] === 'OK' ? 'paid' : ($outcomes[$notification['error']] ?? 'declined');
    }
    if ($review !== null) {
        $to = 'review';
        $note = $review;
        if (!in_array($review, $order['review_reasons'], true)) {
            $order['review_reasons'][] = $review;
        }
    }
    if ($notification['status'] === 'OK' && !isset($order['payment'])) {
        $order['payment'] = [
            'amount' => $notification['amount'], 'clientid' => $notification['clientid'], 'cname' => $notification['cname'],
            'currency' => $notification['currency'], 'mobile' => $notification['mobile'], 'payid' => $notification['payid'],
            'paymentref' => $notification['paymentref'], 'received_at' => now_iso($now), 'timestamp' => $notification['timestamp'],
        ];
    }
    $order['status'] = $to;
    $entry = ['from' => $from, 'notification' => $notification, 'received_at' => now_iso($now), 'to' => $to];
    if ($note !== null) {
        $entry['note'] = $note;
    }
    $order['notifications'][] = $entry;
    $order['updated_at'] = now_iso($now);
    $order['revision']++;
    $record += ['from' => $from, 'to' => $to, 'reason' => $note];
    return [$record, 'applied'];
});
if ($updated === null || $updated[1] === null) {
    refuse(404, 'Unknown purchaseref.', $remote, $pairs, $now);
}
answer(200, 'text/plain', 'OK');
