<?php
// The PHP reference for the benchmark: what a careful plain-PHP merchant site would do for Cross's checkout
// page and TMoney notification, doing the same durable work (see the header of bench/run). No framework.
//
// Orders live under BENCH_PHP_DATA in Cross's own layout and format (orders/<3 hex>/<32 hex key>.json, the
// key being the first 32 hex digits of SHA-256 of the purchaseref), each with its own lock file beside it
// (<key>.lock, taken with flock). Every change is appended to journal.jsonl and fdatasync'ed before the new
// file replaces the old one by rename.
declare(strict_types=1);

const WORDS = [
    'fr' => [
        'checkout_title' => 'Paiement TMoney', 'merchant' => 'Marchand', 'description' => 'Achat',
        'amount' => 'Montant', 'order_ref' => 'Référence de commande', 'pay_button' => 'Payer avec TMoney',
        'pay_hint' => 'Vous allez confirmer le paiement sur la page sécurisée de TMoney, avec votre numéro et votre code secret.',
        'not_found' => 'Commande introuvable', 'paid' => 'Commande déjà payée', 'unavailable' => 'TMoney est indisponible',
    ],
    'en' => [
        'checkout_title' => 'TMoney payment', 'merchant' => 'Merchant', 'description' => 'Purchase',
        'amount' => 'Amount', 'order_ref' => 'Order reference', 'pay_button' => 'Pay with TMoney',
        'pay_hint' => 'You will confirm the payment on TMoney\'s secure page, with your number and your PIN.',
        'not_found' => 'Order not found', 'paid' => 'Order already paid', 'unavailable' => 'TMoney is unavailable',
    ],
];

function setting(string $name): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        throw new RuntimeException("$name is not set (see the php-fpm pool's env[])");
    }
    return $value;
}

function data_dir(): string { return setting('BENCH_PHP_DATA'); }

function order_key(string $ref): string { return substr(hash('sha256', $ref), 0, 32); }

function order_path(string $key): string { return data_dir() . '/orders/' . substr($key, 0, 3) . '/' . $key; }

function now_iso(int $time): string { return gmdate('Y-m-d\TH:i:s\Z', $time); }

function iso_seconds(string $iso): int { return (int)strtotime($iso); }

function h(string $text): string { return htmlspecialchars($text, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5, 'UTF-8'); }

/** The order, or null if there is none; dies with a 500 if the file does not parse. */
function load_order(string $key): ?array
{
    $bytes = @file_get_contents(order_path($key) . '.json');
    if ($bytes === false) {
        return null;
    }
    $order = json_decode($bytes, true);
    if (!is_array($order)) {
        answer(500, 'text/plain', "order file damaged\n");
    }
    return $order;
}

function encode(array $value): string
{
    return json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
}

/** Appends one record to the journal and waits until it is on disk. */
function journal(array $record): void
{
    $journal = fopen(data_dir() . '/journal.jsonl', 'ab');
    if ($journal === false) {
        answer(503, 'text/plain', "journal unavailable\n");
    }
    $line = encode($record) . "\n";
    if (fwrite($journal, $line) !== strlen($line) || !fflush($journal) || !fdatasync($journal)) {
        answer(503, 'text/plain', "journal unavailable\n");
    }
    fclose($journal);
}

/**
 * A read-modify-write of one order under its lock: `$change` edits the order and returns the journal record
 * (null: nothing to write). Write-ahead as in Cross: the new file beside the old, the journal record synced,
 * then the rename. Returns [the order as it is after, what $change returned as 'result'], or null if there is
 * no such order.
 */
function update_order(string $key, callable $change): ?array
{
    $lock = fopen(order_path($key) . '.lock', 'c');
    if ($lock === false || !flock($lock, LOCK_EX)) {
        answer(503, 'text/plain', "cannot lock the order\n");
    }
    try {
        $order = load_order($key);
        if ($order === null) {
            return null;
        }
        $revision = $order['revision'];
        [$record, $result] = $change($order);
        if ($order['revision'] !== $revision) {
            $encoded = encode($order);
            $final = order_path($key) . '.json';
            $temporary = $final . '.tmp.' . getmypid() . '.' . $order['revision'];
            if (file_put_contents($temporary, $encoded . "\n") === false) {
                answer(503, 'text/plain', "cannot write the order\n");
            }
            $record['key'] = $order['key'];
            $record['ref'] = $order['purchaseref'];
            $record['revision'] = $order['revision'];
            $record['order'] = $order;
            journal($record);
            if (!rename($temporary, $final)) {
                answer(503, 'text/plain', "cannot rename the order\n");
            }
        } elseif ($record !== null) {
            journal($record);
        }
        return [$order, $result];
    } finally {
        flock($lock, LOCK_UN);
        fclose($lock);
    }
}

function answer(int $status, string $type, string $body): never
{
    http_response_code($status);
    header('Content-Type: ' . $type . '; charset=utf-8');
    header('Cache-Control: no-store');
    echo $body;
    exit;
}

/** Code points, without mbstring (not in Debian's php8.2-fpm): -1 if not UTF-8. */
function code_points(string $text): int
{
    $count = preg_match_all('/./us', $text);
    return $count === false ? -1 : $count;
}

function is_digits(string $text): bool { return $text !== '' && strspn($text, '0123456789') === strlen($text); }

function has_control(string $text): bool { return preg_match('/[\x00-\x1f\x7f]/', $text) === 1; }

/** `15 000 F CFA`, as Cross shows amounts. */
function format_amount(int $francs): string { return number_format($francs, 0, '', ' ') . ' F CFA'; }
