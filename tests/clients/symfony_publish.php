<?php
// Publishes three updates to ssed with Symfony's Mercure component (Debian
// php-symfony-mercure), exactly as a Symfony application does: a public
// update, a private one, and one with alternate topics carrying an id, a
// type and a retry. Prints the id the hub answered for each, one a line.
//
// Environment: MERCURE_URL (the hub, .../.well-known/mercure) and
// MERCURE_JWT (a publisher token). Used by tests/mercure_clients.rs.

declare(strict_types=1);

require_once 'Symfony/Component/Mercure/autoload.php';

use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\Jwt\StaticTokenProvider;
use Symfony\Component\Mercure\Update;

$hub = new Hub(getenv('MERCURE_URL'), new StaticTokenProvider(getenv('MERCURE_JWT')));

$updates = [
    new Update('https://example.com/books/1', '{"title":"public, from Symfony"}'),
    new Update('https://example.com/books/2', "private, from Symfony\nsecond line", true),
    new Update(
        ['https://example.com/books/3', 'https://example.com/users/7/books'],
        'alternates, from Symfony',
        false,
        'symfony-id-3',
        'book.updated',
        2500
    ),
];
foreach ($updates as $update) {
    echo $hub->publish($update), "\n";
}
