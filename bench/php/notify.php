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
    journal(['at' => now_iso($now), 'kind' => 'call.refused', 'channel' => 'notification', 'remote' => $remote, 'answer' => $status,
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

// As Cross stores it: TMoney's parameters as an operator-neutral event.
$outcomes = ['CANCEL' => 'cancelled', 'EXPIRED_SESSION' => 'expired'];
$event = [
    'operator' => 'tmoney', 'outcome' => $status === 'OK' ? 'paid' : ($outcomes[$error] ?? 'declined'), 'reason' => $error,
    'purchaseref' => $ref, 'amount' => (int)$amountText, 'currency' => $currency, 'transaction_id' => $payid,
    'receipt' => $paymentref, 'payer' => ['account' => $clientid, 'name' => $cname, 'phone' => $mobile],
    'occurred_at' => $timestamp,
];
$identity = fn (array $e): string => implode('|', [$e['operator'], $e['outcome'], $e['transaction_id'], $e['reason'], $e['transaction_id'] === '' ? $e['receipt'] . '|' . $e['occurred_at'] : '']);

$updated = update_order(order_key($ref), function (array &$order) use ($event, $identity, $now, $remote) {
    if ($order['purchaseref'] !== $event['purchaseref']) {
        return [null, null];
    }
    $record = ['at' => now_iso($now), 'kind' => 'event.applied', 'answer' => 200, 'remote' => $remote, 'payment_event' => $event];
    $id = $identity($event);
    foreach ($order['events'] as $seen) {
        if ($identity($seen['event']) === $id) {
            $record['kind'] = 'event.duplicate';
            $record['key'] = $order['key'];
            $record['ref'] = $order['purchaseref'];
            return [$record, 'duplicate'];
        }
    }
    $from = $order['status'];
    $to = $from;
    $note = null;
    $review = null;
    if ($event['amount'] !== $order['amount'] || $event['currency'] !== $order['currency']) {
        $review = "TMoney says {$event['outcome']} for {$event['amount']} F CFA on an order of {$order['amount']} F CFA";
    } elseif ($from === 'review') {
        $note = 'recorded: the order is in review';
    } elseif ($from === 'paid') {
        if ($event['outcome'] === 'paid' && $event['transaction_id'] !== ($order['payment']['transaction_id'] ?? null)) {
            $review = 'paid twice: TMoney ' . ($order['payment']['transaction_id'] ?? '?') . ' then TMoney ' . $event['transaction_id'];
        } elseif ($event['outcome'] !== 'paid') {
            $note = 'recorded: the order is already paid';
        }
    } else {
        $to = $event['outcome'];
    }
    if ($review !== null) {
        $to = 'review';
        $note = $review;
        if (!in_array($review, $order['review_reasons'], true)) {
            $order['review_reasons'][] = $review;
        }
    }
    if ($event['outcome'] === 'paid' && !isset($order['payment'])) {
        $order['payment'] = [
            'amount' => $event['amount'], 'currency' => $event['currency'], 'occurred_at' => $event['occurred_at'],
            'operator' => 'tmoney', 'payer' => $event['payer'], 'receipt' => $event['receipt'], 'received_at' => now_iso($now),
            'transaction_id' => $event['transaction_id'],
        ];
    }
    $order['status'] = $to;
    $entry = ['event' => $event, 'from' => $from];
    if ($note !== null) {
        $entry['note'] = $note;
    }
    $entry += ['received_at' => now_iso($now), 'source' => 'notification', 'to' => $to];
    $order['events'][] = $entry;
    $order['updated_at'] = now_iso($now);
    $order['revision']++;
    $record += ['from' => $from, 'to' => $to, 'reason' => $note];
    return [$record, 'applied'];
});
if ($updated === null || $updated[1] === null) {
    refuse(404, 'Unknown purchaseref.', $remote, $pairs, $now);
}
answer(200, 'text/plain', 'OK');
