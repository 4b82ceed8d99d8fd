<?php
// Creates pending orders for the PHP reference, as Cross's API would have: `<PREFIX>-1-1` … `<PREFIX>-1-<COUNT>`,
// each a copy of TEMPLATE (an order file Cross wrote) with its own reference, key and times, and its lock
// file. Writes "<PREFIX> 1 <COUNT>" to REFS_FILE for bench/wrk/notify.lua. Not timed: plain writes, no sync.
//
//   php bench/php/setup.php DATA_DIR TEMPLATE_ORDER_FILE PREFIX COUNT REFS_FILE
declare(strict_types=1);

if ($argc !== 6) {
    fwrite(STDERR, "usage: php setup.php DATA_DIR TEMPLATE_ORDER_FILE PREFIX COUNT REFS_FILE\n");
    exit(2);
}
[, $data, $templateFile, $prefix, $count, $refsFile] = $argv;
$template = json_decode(file_get_contents($templateFile), true, 512, JSON_THROW_ON_ERROR);
$template['attempts'] = [];
$template['events'] = [];
$template['review_reasons'] = [];
unset($template['payment']);
$template['status'] = 'pending';
$template['revision'] = 1;
$now = time();
$template['created_at'] = $template['updated_at'] = gmdate('Y-m-d\TH:i:s\Z', $now);
$template['expires_at'] = gmdate('Y-m-d\TH:i:s\Z', $now + 7 * 86400);

@mkdir("$data/orders", 0755, true);
$shards = [];
for ($n = 1; $n <= (int)$count; $n++) {
    $ref = "$prefix-1-$n";
    $key = substr(hash('sha256', $ref), 0, 32);
    $shard = "$data/orders/" . substr($key, 0, 3);
    if (!isset($shards[$shard])) {
        @mkdir($shard, 0755);
        $shards[$shard] = true;
    }
    $order = ['purchaseref' => $ref, 'key' => $key] + $template;
    file_put_contents("$shard/$key.json", json_encode($order, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");
    touch("$shard/$key.lock");
}
file_put_contents($refsFile, "$prefix 1 $count\n", FILE_APPEND);
